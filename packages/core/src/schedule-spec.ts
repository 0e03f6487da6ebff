import { Cron } from 'croner';
import { ConfigError } from './errors.js';
import { safeJson } from './options.js';
import type { PutOptions } from './types.js';

/** When a schedule's occurrences are due: a cron expression (in a time zone), or a fixed interval. */
export type ScheduleSpec =
  | {
      /** A cron expression (5 fields, or 6 with seconds first), e.g. `'0 3 * * *'`. Parsed by croner. */
      cron: string;
      /** An IANA time zone, e.g. `'Europe/Berlin'`. @defaultValue 'UTC' */
      tz?: string;
    }
  | {
      /** An interval: ms, or a duration such as `'500ms'`, `'30s'`, `'5m'`, `'1h'`, `'1d'` (at least 100 ms). */
      every: number | string;
    };

/** What each occurrence puts: its item and its put options (`id`, `signal` and `timeout` excepted). */
export type ScheduleTemplate = { data: unknown } & Omit<PutOptions, 'id' | 'signal' | 'timeout'>;

/**
 * What happens to occurrences no worker fired while they were due. An occurrence is *missed* when
 * the next one also came due before any worker fired it (while no worker ran, say).
 * - `'all'`: every missed occurrence is enqueued when workers return;
 * - `'one'`: the missed ones collapse into one, the latest;
 * - `'none'`: missed occurrences are skipped; the schedule goes on with the next one.
 */
export type ScheduleCatchUp = 'none' | 'one' | 'all';

/** Options of {@link Queue.schedule}. */
export interface ScheduleOptions {
  /** No occurrence before this instant (ms since the epoch, or a Date). An `every` schedule counts its intervals from it. */
  startAt?: number | Date;
  /** No occurrence after this instant (ms since the epoch, or a Date). */
  endAt?: number | Date;
  /** At most this many occurrences in all. */
  limit?: number;
  /** What happens to missed occurrences. @defaultValue 'one' */
  catchUp?: ScheduleCatchUp;
}

/** One schedule as {@link Queue.schedules} reads it. */
export interface ScheduleInfo {
  id: string;
  spec: ScheduleSpec;
  template: ScheduleTemplate;
  startAt: number | undefined;
  endAt: number | undefined;
  limit: number | undefined;
  catchUp: ScheduleCatchUp;
  /** When the next occurrence is due (ms since the epoch); undefined once the schedule has ended. */
  next: number | undefined;
  /** When the last enqueued occurrence was due; undefined before the first. */
  last: number | undefined;
  /** When the last occurrence was enqueued (Redis's clock); `lastAt - last` is its lateness. */
  lastAt: number | undefined;
  /** Occurrences enqueued so far. */
  runs: number;
  /** Occurrences skipped as missed (`catchUp` 'one' or 'none'). */
  skipped: number;
}

/** A schedule's timing, checked and normalized: what decides its due times. */
export interface Timing {
  cron?: string;
  tz?: string;
  everyMs?: number;
  startAt?: number;
  endAt?: number;
}

/** A checked schedule: its timing (as stored, and compared by upserts) and the rest. */
export interface CheckedSchedule {
  id: string;
  timing: Timing;
  /** The timing as JSON: an upsert with the same keeps the schedule's next due time. */
  timingJson: string;
  templateJson: string;
  limit: number;
  catchUp: ScheduleCatchUp;
}

/** Fewest ms between two occurrences of an `every` schedule. */
export const MIN_EVERY_MS = 100;
/** Most occurrences one firing enqueues for one schedule (`catchUp: 'all'`); the rest follow at the next. */
export const MAX_FIRE = 1000;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const CATCH_UPS: readonly ScheduleCatchUp[] = ['none', 'one', 'all'];

/** Throws unless `id` can name a schedule (it becomes part of Redis keys and of its occurrences' task ids). */
export function checkScheduleId(id: unknown): string {
  if (typeof id !== 'string' || !/^[A-Za-z0-9._-]{1,100}$/.test(id)) {
    throw new ConfigError(`invalid schedule id ${safeJson(id)}: use 1-100 letters, digits, '.', '_' or '-', e.g. "nightly-report"`);
  }
  return id;
}

function parseEvery(every: unknown): number {
  let value: number | undefined;
  if (typeof every === 'number' && Number.isFinite(every)) value = every;
  else if (typeof every === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/i.exec(every);
    if (m) value = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  }
  if (value === undefined) {
    throw new ConfigError(`schedule every must be a duration such as '500ms', '30s', '5m', '1h' or '1d' (or a number of ms), got ${safeJson(every)}`);
  }
  if (value < MIN_EVERY_MS) {
    throw new ConfigError(`schedule every must be at least ${MIN_EVERY_MS}ms, got ${safeJson(every)}; use a longer interval, e.g. '1s'`);
  }
  return Math.round(value);
}

function checkTz(tz: unknown): string {
  if (typeof tz !== 'string' || tz.length === 0) throw new ConfigError(`schedule tz must be an IANA time zone such as 'Europe/Berlin', got ${safeJson(tz)}`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new ConfigError(`unknown time zone ${safeJson(tz)}: use an IANA time zone such as 'Europe/Berlin' or 'America/New_York'`);
  }
  return tz;
}

function checkInstant(what: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const t = v instanceof Date ? v.getTime() : v;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) {
    throw new ConfigError(`schedule ${what} must be a Date or ms since the epoch, got ${safeJson(v instanceof Date ? String(v) : v)}`);
  }
  return Math.round(t);
}

function cronOf(t: Timing): Cron {
  return new Cron(t.cron!, { paused: true, timezone: t.tz ?? 'UTC' });
}

/** Checks a schedule's arguments; a {@link ConfigError} names the first thing wrong and how to fix it. */
export function checkSchedule(id: unknown, spec: unknown, template: unknown, opts: ScheduleOptions = {}): CheckedSchedule {
  checkScheduleId(id);
  if (spec === null || typeof spec !== 'object' || (('cron' in spec) === ('every' in spec))) {
    throw new ConfigError(`schedule spec must be { cron: '0 3 * * *', tz?: 'Europe/Berlin' } or { every: '5m' }, got ${safeJson(spec)}`);
  }
  const timing: Timing = {};
  if ('cron' in spec) {
    const s = spec as { cron: unknown; tz?: unknown };
    if (typeof s.cron !== 'string') throw new ConfigError(`schedule cron must be a string such as '0 3 * * *', got ${safeJson(s.cron)}`);
    timing.cron = s.cron.trim();
    if (s.tz !== undefined) timing.tz = checkTz(s.tz);
    try {
      cronOf(timing);
    } catch (e) {
      const why = (e as Error).message.replace(/^CronPattern: /, '');
      throw new ConfigError(`invalid cron ${safeJson(s.cron)}: ${why}; write 5 fields (minute hour day month weekday), e.g. '0 3 * * *'`);
    }
  } else {
    timing.everyMs = parseEvery((spec as { every: unknown }).every);
  }
  if (opts === null || typeof opts !== 'object') throw new ConfigError(`schedule options must be an object, got ${safeJson(opts)}`);
  const startAt = checkInstant('startAt', opts.startAt);
  const endAt = checkInstant('endAt', opts.endAt);
  if (startAt !== undefined && endAt !== undefined && startAt > endAt) {
    throw new ConfigError(`schedule startAt (${new Date(startAt).toISOString()}) is after endAt (${new Date(endAt).toISOString()}); swap them or drop one`);
  }
  if (startAt !== undefined) timing.startAt = startAt;
  if (endAt !== undefined) timing.endAt = endAt;
  const limit = opts.limit;
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)) {
    throw new ConfigError(`schedule limit must be a whole number >= 1, got ${safeJson(limit)}`);
  }
  const catchUp = opts.catchUp ?? 'one';
  if (!CATCH_UPS.includes(catchUp)) {
    throw new ConfigError(`schedule catchUp must be 'none', 'one' or 'all', got ${safeJson(catchUp)}`);
  }
  if (template === null || typeof template !== 'object' || !('data' in template)) {
    throw new ConfigError(`schedule template must be { data, name?, ...put options }, got ${safeJson(template)}`);
  }
  for (const bad of ['id', 'signal', 'timeout'] as const) {
    if (bad in template) throw new ConfigError(`schedule template may not set ${bad}: each occurrence gets its own id (the schedule id and its due time)`);
  }
  return { id: id as string, timing, timingJson: JSON.stringify(timing), templateJson: JSON.stringify(template), limit: limit ?? 0, catchUp };
}

/** The first due time strictly after `t`, or undefined when there is none (past `endAt`, or a cron that never fires again). */
export function dueAfter(timing: Timing, t: number, cron?: Cron): number | undefined {
  let due: number | undefined;
  if (timing.everyMs !== undefined) {
    const anchor = timing.startAt ?? 0;
    due = t < anchor ? anchor : anchor + (Math.floor((t - anchor) / timing.everyMs) + 1) * timing.everyMs;
  } else {
    const from = timing.startAt !== undefined && t < timing.startAt ? timing.startAt - 1 : t;
    due = (cron ?? cronOf(timing)).nextRun(new Date(from))?.getTime();
  }
  if (due === undefined || (timing.endAt !== undefined && due > timing.endAt)) return undefined;
  return due;
}

/** The last due time at or before `t` (at or after `from`), or undefined. */
function lastDueBy(timing: Timing, from: number, t: number, cron: Cron | undefined): number | undefined {
  if (timing.everyMs !== undefined) {
    const anchor = timing.startAt ?? 0;
    const due = anchor + Math.floor((t - anchor) / timing.everyMs) * timing.everyMs;
    return due >= from ? due : undefined;
  }
  const prev = cron!.previousRuns(1, new Date(t + 1))[0]?.getTime();
  return prev !== undefined && prev >= from ? prev : undefined;
}

/** What one firing does to a schedule. */
export interface FiringPlan {
  /** Due times to enqueue, oldest first. */
  fire: number[];
  /** Due times skipped as missed. */
  skipped: number;
  /** The next due time after this firing; undefined when the schedule has ended. */
  next: number | undefined;
}

/**
 * Plans a firing at `now` of a schedule whose next due time is `next` (<= now), that has run `runs`
 * times: which due times to enqueue and which count as missed (see {@link ScheduleCatchUp}), and the
 * next due time. Pure: every process that plans the same firing plans the same.
 */
export function planFiring(timing: Timing, catchUp: ScheduleCatchUp, limit: number, runs: number, next: number, now: number): FiringPlan {
  const cron = timing.cron !== undefined ? cronOf(timing) : undefined;
  const due: number[] = [next];
  let after: number | undefined = dueAfter(timing, next, cron);
  // Collect what is due, a bounded number of steps; past that, jump to the last due time.
  while (after !== undefined && after <= now && due.length < MAX_FIRE) {
    due.push(after);
    after = dueAfter(timing, after, cron);
  }
  let skippedBeyond = 0;
  if (after !== undefined && after <= now) {
    // More than MAX_FIRE due: 'all' fires these and goes on at the next firing; the others jump.
    if (catchUp !== 'all') {
      const last = lastDueBy(timing, after, now, cron);
      if (last !== undefined) {
        skippedBeyond = 1; // at least one more was missed; the exact count does not matter
        due.push(last);
        after = dueAfter(timing, last, cron);
      }
    }
  }
  let fire: number[];
  if (catchUp === 'all') fire = due;
  else if (catchUp === 'one') fire = due.slice(-1);
  else fire = due.length === 1 ? due : [];
  let nextDue = after;
  if (limit > 0 && runs + fire.length >= limit) {
    fire = fire.slice(0, Math.max(0, limit - runs));
    nextDue = undefined;
  }
  return { fire, skipped: due.length - fire.length + skippedBeyond, next: nextDue };
}

/** The task id of a schedule's occurrence: the same in every process, so an occurrence is put once. */
export function occurrenceId(scheduleId: string, due: number): string {
  return `sched~${scheduleId}~${due}`;
}
