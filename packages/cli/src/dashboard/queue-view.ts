import type { AdminCounts, GroupBacklog } from '@asyncq/core';
import type { ThroughputPoint } from '../queues/rates.js';
import type { QueueDetail, QueueSummary, WorkerRow } from './dashboard-types.js';

// These functions turn API data into the text the asyncq page shows. The server renders the page
// with them, and the page's script is given their source (Function.prototype.toString) to update
// it from the JSON it polls, so both always show the same thing. Hence each is self-contained: no
// imports, no module-level values, nothing but plain JavaScript once compiled. They return text
// only; the server HTML-escapes it and the browser sets it as textContent.

/** The page's text for one queue, by field name (`data-f` in the page). */
export function queueFields(d: QueueDetail): Record<string, string> {
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const dur = (s: number): string => {
    if (s >= 86_400) return '1 day or more';
    if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
    if (s >= 60) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
    return s >= 10 || s === 0 ? `${Math.round(s)} s` : `${s.toFixed(1)} s`;
  };
  const c = d.counts;
  const ready = c.waiting + c.delayed;
  const w = d.workers;
  const l = d.limits;
  const each = l.limits.perGroup?.concurrency;
  const set = [
    l.limits.rate ? `rate ${l.limits.rate.max}/${typeof l.limits.rate.per === 'number' ? `${l.limits.rate.per}ms` : l.limits.rate.per}` : '',
    l.limits.concurrency !== undefined ? `concurrency ${n(l.limits.concurrency)}` : '',
    each !== undefined ? `${n(each)} per group` : '',
  ].filter(Boolean);
  const binding = [l.rateBinds ? 'rate' : '', l.concurrencyBinds ? 'concurrency' : '', each !== undefined && l.groupsBlocked > 0 ? 'per group' : ''].filter(Boolean);
  const flags = [d.state.shutdown ? `shut down (${d.state.shutdown})` : '', d.state.paused ? 'paused' : '', d.partitions > 1 ? `${d.partitions} partitions` : '']
    .filter(Boolean)
    .join(' · ');
  return {
    flags,
    unfinished: n(c.unfinished),
    joiners: d.state.joinersWaiting ? 'joiners are waiting' : 'no joiner waiting',
    ready: n(ready),
    maxsize: d.state.maxsize > 0 ? n(d.state.maxsize) : 'unbounded',
    gate: d.state.putsWaiting ? 'full: puts are waiting for room' : d.state.maxsize > 0 && ready >= d.state.maxsize ? 'full' : 'room for puts',
    shutdown: d.state.shutdown ? `shut down (${d.state.shutdown}): puts fail` : 'open',
    delivery: d.state.paused ? 'paused: gets wait' : 'delivering',
    live: n(w.live),
    busy: `${n(w.busy)} busy, ${n(w.live - w.busy)} idle, ${n(w.running)} of ${n(w.slots)} slots in use`,
    desired: w.desired === null ? 'not set' : `${n(w.desired)} (${w.desiredBy === 'autoscaler' ? 'autoscaler' : 'asyncq scale'})`,
    fleets: w.supervisors > 0 ? `${n(w.supervisors)} fleet supervisor${w.supervisors === 1 ? '' : 's'} running ${n(w.supervisedWorkers)}` : 'no fleet supervisor',
    drain: d.drain,
    rate: `${d.finishRate < 10 ? d.finishRate.toFixed(1) : n(d.finishRate)} tasks/s finished (smoothed)`,
    oldest: ready > 0 ? `oldest ready task waited ${dur(d.oldestWaitingMs / 1000)}` : 'no task ready',
    waiting: n(c.waiting),
    delayed: n(c.delayed),
    active: n(c.active),
    completed: n(c.completed),
    failed: n(c.failed),
    cancelled: n(c.cancelled),
    totals: `${n(d.totals.added)} added, ${n(d.totals.completed)} completed, ${n(d.totals.failed)} failed for good, ${n(d.totals.retried)} retried, ${n(d.totals.reclaimed)} reclaimed, ${n(d.totals.discarded)} discarded, ${n(d.totals.cancelled)} cancelled`,
    done: d.donePerSec.toFixed(1),
    limits: set.length > 0 ? set.join(' · ') : 'none',
    binds: set.length === 0 ? 'set with asyncq limits' : binding.length > 0 ? `binding now: ${binding.join(', ')}` : 'none binds now',
    groups:
      l.groupsWaiting === 0
        ? 'no group has tasks waiting'
        : `${n(l.groupsWaiting)} group${l.groupsWaiting === 1 ? '' : 's'} with tasks waiting, ${n(l.groupsBlocked)} held back by the per-group limit`,
  };
}

/** The cells of one group's row in the largest groups: its name, tasks waiting, and whether its per-group limit holds it back. */
export function groupCells(g: GroupBacklog): string[] {
  return [g.group, Math.round(g.waiting).toLocaleString('en-US'), g.blocked ? 'yes' : 'no'];
}

/** The cells of one worker's row: its id (as `asyncq workers` names it), load, busy or idle, what it runs, counters, heartbeat. */
export function workerCells(w: WorkerRow, now: number): string[] {
  const age = (ms: number): string => (ms < 10_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);
  const current = w.current.map((t) => `${t.name} #${t.id} (${age(now - t.startedAt)})`).join(', ');
  return [
    w.id,
    `${w.running}/${w.concurrency}`,
    w.running > 0 ? 'busy' : 'idle',
    current || '—',
    String(w.done),
    String(w.failed),
    `${age(now - w.lastHeartbeat)} ago`,
  ];
}

/** The cells of partition `i`'s row: its counts by state. */
export function partitionCells(c: AdminCounts, i: number): string[] {
  return [`#${i}`, c.waiting, c.delayed, c.active, c.completed, c.failed, c.cancelled].map(String);
}

/**
 * The polyline points of the throughput chart (`width` × `height`, now at the right edge), its
 * peak, and the time it spans: the history there is, from 30 s up to `windowMs`, so a young
 * dashboard shows a chart across the width rather than a sliver at the edge.
 */
export function chartPoints(
  series: ThroughputPoint[],
  now: number,
  windowMs: number,
  width: number,
  height: number,
): { done: string; failed: string; peak: number; span: string } {
  // The peak shown is the series' own (0 on a queue that never ran a task); the scale never goes below 1/s.
  const peak = Math.max(0, ...series.map((p) => Math.max(p.done, p.failed)));
  const scale = Math.max(1, peak);
  const oldest = series.length > 0 ? series[0]!.at : now;
  const spanMs = Math.min(windowMs, Math.max(30_000, now - oldest));
  const span = spanMs >= 120_000 ? `${Math.round(spanMs / 60_000)} min` : `${Math.round(spanMs / 1000)} s`;
  const line = (pick: (p: ThroughputPoint) => number): string =>
    series
      .map((p) => {
        const x = Math.max(0, width - ((now - p.at) / spanMs) * width);
        const y = height - (pick(p) / scale) * (height - 4);
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      })
      .join(' ');
  return { done: line((p) => p.done), failed: line((p) => p.failed), peak, span };
}

/**
 * One queue's row in the home table: the cells shown, the values each column sorts by, and its
 * state in one word. A paused, shut-down, stuck (tasks ready, live workers, nothing finishing) or
 * unserved queue says so rather than showing a drain time.
 */
export function queueRow(s: QueueSummary): { cells: string[]; keys: (number | string)[]; state: string } {
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const dur = (ms: number): string => {
    const t = ms / 1000;
    if (t >= 86_400) return `${Math.floor(t / 86_400)} d`;
    if (t >= 3600) return `${Math.floor(t / 3600)} h ${Math.round((t % 3600) / 60)} min`;
    if (t >= 60) return `${Math.floor(t / 60)} min ${Math.round(t % 60)} s`;
    return `${Math.round(t)} s`;
  };
  const c = s.counts;
  const depth = c.waiting + c.delayed;
  const perMin = s.finishRate * 60;
  const state = s.state.shutdown
    ? 'shut down'
    : s.state.paused
      ? 'paused'
      : c.unfinished === 0
        ? 'idle'
        : c.waiting > 0 && s.workers.live === 0
          ? 'no workers'
          : c.waiting > 0 && s.finishRate === 0 && c.active === 0
            ? 'stuck'
            : 'running';
  const workers = `${n(s.workers.live)}${s.workers.desired === null ? '' : ` of ${n(s.workers.desired)}`}`;
  return {
    cells: [s.name, state, n(depth), n(c.unfinished), n(c.failed), perMin < 10 ? perMin.toFixed(1) : n(perMin), depth > 0 ? dur(s.oldestWaitingMs) : '—', workers],
    keys: [s.name, state, depth, c.unfinished, c.failed, perMin, depth > 0 ? s.oldestWaitingMs : -1, s.workers.live],
    state,
  };
}

/** A failure group's cells: queue, count, the normalised message, first and last seen (UTC), example ids. */
export function failureCells(g: { queue: string; key: string; count: number; firstSeen: number; lastSeen: number; taskIds: string[] }): string[] {
  const t = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
  return [g.queue, g.count.toLocaleString('en-US'), g.key, t(g.firstSeen), t(g.lastSeen), g.taskIds.join(', ')];
}
