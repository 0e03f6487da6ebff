import type { WorkerList, WorkerView } from './dashboard-types.js';

// The worker pages' text, as queue-view.ts is the queue page's: the server renders with these
// functions and the page's script is given their source, so each is self-contained (no imports, no
// module-level values). They return text only; the server escapes it, the browser sets textContent.

/** The worker page's address (relative to the dashboard's root): the queue and the worker's id, in the query. */
export function workerHref(queue: string, id: string): string {
  return `worker?queue=${encodeURIComponent(queue)}&id=${encodeURIComponent(id)}`;
}

/**
 * A worker's text by field name (`data-f` on the page) and the rows of the tasks it runs now. Ages
 * count from `v.at`, when the server read the registry. The `state` field is one line: live, or
 * stale (it stopped reporting), or gone; only a live worker's figures are shown, so a dead one
 * never looks busy.
 */
export function workerView(v: WorkerView): { fields: Record<string, string>; tasks: string[][] } {
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const dur = (ms: number): string => {
    const s = Math.max(0, ms) / 1000;
    if (s >= 86_400) return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
    if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    if (s >= 60) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
    return s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
  };
  const utc = (ms: number): string => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
  const w = v.worker;
  if (!w || v.state === 'gone') {
    return { fields: { id: v.id, state: `gone: ${v.id} is no longer registered on ${v.queue}: it stopped, or missed three heartbeats` }, tasks: [] };
  }
  const every = w.heartbeatMs === null ? '' : ` (it beats every ${dur(w.heartbeatMs)})`;
  const running = w.running ?? w.current.length;
  const unlisted = running - w.current.length;
  return {
    fields: {
      id: w.id,
      state:
        v.state === 'stale'
          ? `stale: no heartbeat for ${dur(v.at - w.lastHeartbeat)}${every}: stuck, stopped or dead; it drops out after three missed beats`
          : `live: last heartbeat ${dur(v.at - w.lastHeartbeat)} ago${every}`,
      host: w.host,
      pid: String(w.pid),
      version: w.version ?? 'unknown',
      started: utc(w.startedAt),
      uptime: `up ${dur(v.at - w.startedAt)}`,
      heartbeat: `${dur(v.at - w.lastHeartbeat)} ago${v.state === 'stale' ? ', stale' : ''}`,
      concurrency: n(w.concurrency),
      running: n(running),
      busy: `${n(running)} of ${n(w.concurrency)} slots busy`,
      done: n(w.done),
      failed: n(w.failed),
      unlisted: unlisted > 0 ? `and ${n(unlisted)} more: a heartbeat names the first ${n(w.current.length)}` : '',
    },
    tasks: w.current.map((t) => [t.id, t.name, utc(t.startedAt), dur(v.at - t.startedAt)]),
  };
}

/** A worker's row in a queue's list of workers, from its {@link workerView} fields. */
export function workerListCells(f: Record<string, string>): string[] {
  return ['id', 'host', 'pid', 'version', 'started', 'concurrency', 'running', 'done', 'failed', 'heartbeat'].map((k) => f[k] ?? '');
}

/** "2 live workers, 3 of 8 slots busy", as `asyncq workers` heads its table. */
export function listSummary(list: WorkerList): string {
  const k = list.workers.length;
  const busy = list.workers.reduce((a, w) => a + (w.running ?? w.current.length), 0);
  return `${k} live worker${k === 1 ? '' : 's'}, ${busy} of ${list.workers.reduce((a, w) => a + w.concurrency, 0)} slots busy`;
}
