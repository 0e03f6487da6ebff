import { QueueFull, QueueShutDown } from '../errors.js';
import { corruptionOf } from '../server-errors.js';
import {
  checkSchedule,
  checkScheduleId,
  dueAfter,
  occurrenceId,
  planFiring,
  type ScheduleCatchUp,
  type ScheduleInfo,
  type ScheduleOptions,
  type ScheduleSpec,
  type ScheduleTemplate,
  type Timing,
} from '../schedule-spec.js';
import type { PutOptions } from '../types.js';
import { toAsyncqError } from './connection.js';
import type { QueueKeys } from './queue-keys.js';
import type { RedisSession } from './redis-session.js';
import { pack, type Call } from './script-sources.js';

/** One occurrence a firing enqueued. */
export interface FiredOccurrence {
  /** The schedule's id. */
  schedule: string;
  /** When it was due (ms since the epoch). */
  due: number;
  /** Its task's id: `sched~<schedule>~<due>`. */
  id: string;
  /** How late it was put: the firing's clock minus its due time (ms). */
  latenessMs: number;
}

/** What one {@link ScheduleBook.fireDue} did, and when to call it again. */
export interface ScheduleFiring {
  fired: FiredOccurrence[];
  /** The clock the firing used (Redis's, unless one was given), ms. */
  now: number;
  /** The earliest due time still ahead (ms), 0 when no schedule has one. */
  nextDue: number;
}

/** An occurrence in the outbox: claimed, to be put under its id. */
interface Occurrence {
  id: string;
  schedule: string;
  due: number;
  template: ScheduleTemplate;
}

/** Puts one occurrence as a put of the queue does (its partition chosen by id); resolves to its id. */
export type PutOccurrence = (data: unknown, opts: PutOptions) => Promise<string>;

/** Schedules read per firing call; the rest wait for the next call, due at once. */
const MAX_DUE = 100;
/** An occurrence still in the outbox this long after its claim is put again (its claimer died). */
const STALE_MS = 5000;

/**
 * A queue's schedules: the records (on partition 0's slot), their upserts, and the firing that
 * workers drive on a timer (see the worker's schedule timer). There is no beat process; any number
 * of processes may fire at once, and each occurrence is enqueued once:
 *
 * 1. `schedule-due-2.lua` reads the schedules whose next due time has come;
 * 2. this process plans the firing from the timing (croner for cron, arithmetic for `every`);
 *    every process plans the same, since the plan depends only on the stored timing, next and now;
 * 3. `schedule-claim-2.lua` advances `next` only if it is still what step 1 read, and records the
 *    claimed occurrences in the outbox in the same step: one claimer per firing;
 * 4. the claimer puts each occurrence with the id `sched~<schedule>~<due>` (so a second put of it
 *    adds nothing while its task exists) and then removes it from the outbox; an occurrence left in
 *    the outbox (its claimer died, or Redis lost the put) is put again by a later firing.
 */
export class ScheduleBook {
  constructor(
    private readonly session: () => Promise<RedisSession>,
    private readonly put: PutOccurrence,
    /** The clock to fire and upsert by, for tests; Redis's when undefined. */
    private readonly clock?: () => number,
  ) {}

  /** Creates or updates a schedule; an update with the same timing keeps its next due time. */
  async upsert(id: string, spec: ScheduleSpec, template: ScheduleTemplate, opts?: ScheduleOptions): Promise<ScheduleInfo> {
    const c = checkSchedule(id, spec, template, opts);
    const s = await this.session();
    const at = this.clock?.() ?? (await redisNow(s));
    const first = dueAfter(c.timing, at - 1) ?? 0;
    await this.call(s, 'asyncqScheduleUpsert', [
      this.keys(s).schedules,
      pack({ prefix: this.keys(s).base, id: c.id, timing: c.timingJson, template: c.templateJson, limit: c.limit, catchUp: c.catchUp, first }),
    ]);
    return (await this.read(s, c.id))!;
  }

  /** Removes a schedule; resolves to whether it existed. */
  async remove(id: string): Promise<boolean> {
    checkScheduleId(id);
    const s = await this.session();
    const r = await this.call(s, 'asyncqScheduleRemove', [this.keys(s).schedules, pack({ prefix: this.keys(s).base, id })]);
    return Number(r) === 1;
  }

  /** Every schedule, by id. */
  async list(): Promise<ScheduleInfo[]> {
    const s = await this.session();
    const ids = (await s.client.zrange(this.keys(s).schedules, 0, -1)).sort();
    const out: ScheduleInfo[] = [];
    for (const id of ids) {
      const info = await this.read(s, id);
      if (info) out.push(info);
    }
    return out;
  }

  /**
   * Enqueues every occurrence due now (by Redis's clock, or the injected one: tests move it)
   * that no other process enqueued, and re-puts occurrences whose claimer died before putting them.
   */
  async fireDue(): Promise<ScheduleFiring> {
    const s = await this.session();
    const now = this.clock?.();
    const k = this.keys(s);
    const reply = (await this.call(s, 'asyncqScheduleDue', [
      k.schedules, k.scheduleOutbox, pack({ prefix: k.base, now: now ?? 0, max: MAX_DUE, staleMs: STALE_MS }),
    ])) as [number, number, string[][], string[]];
    const at = Number(reply[0]);
    const fired: FiredOccurrence[] = [];
    const report = (o: Occurrence | undefined): void => {
      if (o) fired.push({ schedule: o.schedule, due: o.due, id: o.id, latenessMs: Math.max(0, at - o.due) });
    };
    for (const json of reply[3]) report(await this.deliver(s, json));
    let nextDue = Number(reply[1]);
    for (const [id, timingJson, templateJson, limit, catchUp, next, runs] of reply[2] as string[][]) {
      const timing = JSON.parse(timingJson!) as Timing;
      const plan = planFiring(timing, catchUp as ScheduleCatchUp, Number(limit), Number(runs), Number(next), at);
      const template = JSON.parse(templateJson!) as ScheduleTemplate;
      const entries = plan.fire.map((due) => JSON.stringify({ id: occurrenceId(id!, due), schedule: id!, due, template } satisfies Occurrence));
      const claimed = await this.call(s, 'asyncqScheduleClaim', [
        k.schedules, k.scheduleOutbox,
        pack({ prefix: k.base, id, timing: timingJson, expect: Number(next), next: plan.next ?? 0, last: plan.fire.at(-1) ?? 0, skipped: plan.skipped, now: at }),
        ...entries,
      ]);
      // Claimed here or elsewhere, the schedule's next due time is now the planned one.
      if (plan.next !== undefined && (nextDue === 0 || plan.next < nextDue)) nextDue = plan.next;
      if (Number(claimed) !== 1) continue;
      for (const json of entries) report(await this.deliver(s, json));
    }
    return { fired, now: at, nextDue: reply[2].length >= MAX_DUE ? at : nextDue };
  }

  /**
   * Puts one claimed occurrence and takes it out of the outbox. A full queue keeps it there (it is
   * tried again once stale); a shut-down queue drops it. Resolves to it when it was put.
   */
  private async deliver(s: RedisSession, json: string): Promise<Occurrence | undefined> {
    const o = JSON.parse(json) as Occurrence;
    const { data, ...opts } = o.template;
    try {
      await this.put(data, { ...opts, id: o.id });
    } catch (e) {
      if (e instanceof QueueFull) return undefined;
      if (!(e instanceof QueueShutDown)) throw e;
      await s.client.zrem(this.keys(s).scheduleOutbox, json);
      return undefined;
    }
    await s.client.zrem(this.keys(s).scheduleOutbox, json);
    return o;
  }

  private async read(s: RedisSession, id: string): Promise<ScheduleInfo | undefined> {
    const h = await s.client.hgetall(this.keys(s).schedule(id));
    if (!h.timing) return undefined;
    const t = JSON.parse(h.timing) as Timing;
    const spec: ScheduleSpec = t.cron !== undefined ? { cron: t.cron, ...(t.tz !== undefined ? { tz: t.tz } : {}) } : { every: t.everyMs! };
    const num = (v: string | undefined): number | undefined => (v === undefined || Number(v) === 0 ? undefined : Number(v));
    return {
      id,
      spec,
      template: JSON.parse(h.template ?? '{}') as ScheduleTemplate,
      startAt: t.startAt,
      endAt: t.endAt,
      limit: num(h.limit),
      catchUp: (h.catchUp ?? 'one') as ScheduleCatchUp,
      next: num(h.next),
      last: num(h.last),
      lastAt: num(h.lastAt),
      runs: Number(h.runs ?? 0),
      skipped: Number(h.skipped ?? 0),
    };
  }

  /** Schedules live on partition 0's slot, whatever the partition count. */
  private keys(s: RedisSession): QueueKeys {
    return s.config.partitions[0]!;
  }

  private async call(s: RedisSession, command: string, args: (string | number | Buffer)[]): Promise<unknown> {
    try {
      return await (s.client as unknown as Record<string, Call>)[command]!.apply(s.client, args);
    } catch (e) {
      throw corruptionOf(s.config.name, e) ?? toAsyncqError(e, s.config.target) ?? e;
    }
  }
}

/** Redis's clock, in ms: the one every process shares. */
async function redisNow(s: RedisSession): Promise<number> {
  const [sec, micro] = await s.client.time();
  return Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
}
