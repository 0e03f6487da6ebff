import type { TaskFacts } from '../task-handle.js';
import type { BackoffOptions } from '../types.js';
import type { HeldJob } from './lease-keeper.js';
import { publicId } from './partitions.js';

/** Fields per reserved task in a consume reply: id, name, data, opts, timestamp, delay, atm. */
export const RESERVED_FIELDS = 7;

/** What a reserved record becomes: a task's facts and where it is held, or why it cannot run. */
export type Reserved<T> =
  | { facts: TaskFacts<T>; ref: Omit<HeldJob, 'lease' | 'lost'> }
  | { poisoned: string; jobId: string };

/**
 * Reads one task of a consume reply (id, name, data, opts, timestamp, delay, atm). Data or options
 * that are not JSON make it poisoned: it must fail for good with a clear error rather than reach a
 * handler (or crash a worker). Other damage is tolerated: a bad timestamp only skews wait metrics.
 */
export function readReserved<T>(f: (string | null)[], partition: number, partitions: number): Reserved<T> {
  const [jobId, name, dataJson, optsJson, timestamp, , atm] = f as [string, string | null, string | null, string | null, string | null, string | null, string | null];
  let data: T;
  let opts: { attempts?: unknown; backoff?: unknown; delay?: unknown };
  try {
    data = JSON.parse(dataJson ?? '') as T;
  } catch (e) {
    return { jobId, poisoned: `its data is not valid JSON (${(e as Error).message}): it cannot be run` };
  }
  try {
    opts = optsJson ? (JSON.parse(optsJson) as typeof opts) : {};
    if (opts === null || typeof opts !== 'object') throw new Error('not an object');
  } catch (e) {
    return { jobId, poisoned: `its options are not valid JSON (${(e as Error).message}): it cannot be run` };
  }
  const attempts = Number.isInteger(opts.attempts) && (opts.attempts as number) >= 1 ? (opts.attempts as number) : 1;
  const ts = Number(timestamp);
  const delay = Number(opts.delay);
  return {
    facts: {
      id: publicId(partition, jobId, partitions),
      name: name ?? 'task',
      data,
      attempt: (Number(atm) || 0) + 1,
      attempts,
      readyAt: (Number.isFinite(ts) ? ts : Date.now()) + (Number.isFinite(delay) ? delay : 0),
    },
    ref: { partition, jobId, attempts, backoff: toBackoff(opts.backoff) },
  };
}

/** A task's stored backoff, if it is one asyncq (or BullMQ) understands. */
function toBackoff(b: unknown): BackoffOptions | undefined {
  if (typeof b === 'number' && b >= 0) return { type: 'fixed', delay: b };
  const o = b as Partial<BackoffOptions> | null;
  if (o && typeof o === 'object' && (o.type === 'fixed' || o.type === 'exponential') && typeof o.delay === 'number') {
    return { type: o.type, delay: o.delay, ...(typeof o.jitter === 'number' ? { jitter: o.jitter } : {}) };
  }
  return undefined;
}
