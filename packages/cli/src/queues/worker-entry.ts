import type { WorkerInfo } from '@asyncq/core';

/** One live worker as `asyncq workers --json` prints it and the dashboard's worker pages show it. */
export interface WorkerEntry {
  /** The worker's id (`host:pid:xxxxxxxx`): the one name inspect, join, watch and the dashboard give it. */
  id: string;
  host: string;
  pid: number;
  version: string | null;
  /** When it started, ms since the epoch. */
  startedAt: number;
  concurrency: number;
  /** Tasks running at its last heartbeat. */
  running: number | null;
  /** Tasks done and task attempts failed since it started. */
  done: number;
  failed: number;
  /** Its last heartbeat, ms since the epoch. */
  lastHeartbeat: number;
  /** How often it beats, ms; null for a worker too old to say. */
  heartbeatMs: number | null;
  /** Whether it stopped reporting: no heartbeat for two of its intervals, though still listed. */
  stale: boolean;
  /** Some of the tasks it runs now (id, name, started), from its last heartbeat. */
  current: { id: string; name: string; startedAt: number }[];
}

/** The heartbeat interval taken for a worker that does not say its own: the worker's default. */
export const DEFAULT_HEARTBEAT_MS = 5000;

/**
 * A registry entry as read at `now`, each field checked (entries are JSON any process may have
 * written). A worker is listed until three beats go missing; after two it is `stale`, so a
 * reader says it stopped reporting before it drops out.
 */
export function workerEntry(w: WorkerInfo, now: number): WorkerEntry {
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const heartbeatMs = typeof w.heartbeatMs === 'number' && w.heartbeatMs > 0 ? w.heartbeatMs : null;
  return {
    id: String(w.id),
    host: String(w.host),
    pid: n(w.pid),
    version: typeof w.version === 'string' ? w.version : null,
    startedAt: n(w.startedAt),
    concurrency: n(w.concurrency),
    running: typeof w.running === 'number' ? w.running : null,
    done: n(w.done),
    failed: n(w.failed),
    lastHeartbeat: n(w.lastHeartbeat),
    heartbeatMs,
    stale: now - n(w.lastHeartbeat) > 2 * (heartbeatMs ?? DEFAULT_HEARTBEAT_MS),
    current: Array.isArray(w.current) ? w.current.map((t) => ({ id: String(t.id), name: String(t.name), startedAt: n(t.startedAt) })) : [],
  };
}
