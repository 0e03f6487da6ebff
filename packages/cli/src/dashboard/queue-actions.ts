import type { QueueReader } from '../queues/queue-reader.js';
import { MAX_MAX_WORKERS } from '../fleet/fleet-supervisor.js';
import type { ActionOutcome } from './task-actions.js';

/** What a user may do to a whole queue from the asyncq page (with `--allow-actions`): the CLI's verbs of the same names. */
export type QueueAction = 'retry-failed' | 'pause' | 'resume' | 'purge' | 'clean' | 'scale' | 'shutdown' | 'reopen';

/** The queue actions, for routes that check what they were given. */
export const QUEUE_ACTIONS: readonly QueueAction[] = ['retry-failed', 'pause', 'resume', 'purge', 'clean', 'scale', 'shutdown', 'reopen'];

const PURGE_STATES = ['waiting', 'delayed', 'failed', 'completed'] as const;
const CLEAN_STATES = ['completed', 'failed', 'delayed', 'waiting'] as const;
/** The longest age `clean` takes from the page: 10 years, so a typo cannot overflow a score. */
const MAX_AGE_MS = 10 * 365 * 86_400_000;

/** An action's parameters as the page sends them (JSON body): each checked here, a mistake answered with 400 and one line. */
export interface QueueActionParams {
  /** purge: the states to empty (default waiting and delayed, as `asyncq purge`). clean: one state (default completed). */
  states?: unknown;
  state?: unknown;
  /** clean: the age in ms; tasks older than this go. */
  olderThanMs?: unknown;
  /** scale: the desired worker count. */
  workers?: unknown;
  /** shutdown: also drop the ready tasks (`asyncq shutdown --immediate`). */
  immediate?: unknown;
}

const bad = (message: string): ActionOutcome => ({ ok: false, status: 400, message });
const ok = (message: string): ActionOutcome => ({ ok: true, status: 200, message });
const plural = (n: number, what: string): string => `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`;

/**
 * Runs `action` on a whole queue through asyncq's admin (`QueueAdmin`, `WorkerRegistry`): the same
 * operations as `asyncq retry --all-failed`, `pause`, `resume`, `purge`, `clean`, `scale`,
 * `shutdown` and `reopen`, so consumers waiting on the queue are woken and join and maxsize stay
 * true. Parameters come from the page and are checked here.
 */
export async function runQueueAction(q: QueueReader, action: QueueAction, p: QueueActionParams): Promise<ActionOutcome> {
  const name = q.name;
  switch (action) {
    case 'retry-failed':
      return ok(`${name}: retrying ${plural(await q.admin.retryFailed(), 'failed task')}`);
    case 'pause':
      await q.admin.pause();
      return ok(`${name}: paused (gets wait; puts still succeed)`);
    case 'resume':
      await q.admin.resume();
      return ok(`${name}: resumed`);
    case 'purge': {
      const states = p.states === undefined ? ['waiting', 'delayed'] : p.states;
      if (!Array.isArray(states) || states.length === 0 || !states.every((s) => (PURGE_STATES as readonly unknown[]).includes(s))) {
        return bad(`purge takes states, a list of ${PURGE_STATES.join(', ')}`);
      }
      const n = await q.admin.purge(states as (typeof PURGE_STATES)[number][]);
      return ok(`${name}: removed ${plural(n, 'task')} (${states.join(', ')})`);
    }
    case 'clean': {
      const state = p.state ?? 'completed';
      const age = p.olderThanMs;
      if (!(CLEAN_STATES as readonly unknown[]).includes(state)) return bad(`clean takes state, one of ${CLEAN_STATES.join(', ')}`);
      if (typeof age !== 'number' || !Number.isInteger(age) || age < 0 || age > MAX_AGE_MS) return bad('clean takes olderThanMs, a whole number of ms from 0 to 10 years');
      const s = state as (typeof CLEAN_STATES)[number];
      const n = await q.admin.clean(age, s === 'waiting' ? 'wait' : s);
      return ok(`${name}: removed ${plural(n, `${s} task`)} older than ${Math.round(age / 1000)} s`);
    }
    case 'scale': {
      const n = p.workers;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_MAX_WORKERS) return bad(`scale takes workers, a whole number from 0 to ${MAX_MAX_WORKERS}`);
      await q.registry.setDesired(n);
      const fleets = await q.registry.listFleets();
      return ok(`${name}: desired workers set to ${n}; ${plural(fleets.length, 'running fleet')} will share them`);
    }
    case 'shutdown': {
      if (p.immediate !== undefined && typeof p.immediate !== 'boolean') return bad('shutdown takes immediate, true or false');
      await q.admin.shutdown({ immediate: p.immediate === true });
      return ok(`${name}: shut down${p.immediate === true ? ' immediately (ready tasks dropped)' : ''}: puts fail until reopened`);
    }
    case 'reopen':
      await q.admin.reopen();
      return ok(`${name}: reopened`);
  }
}
