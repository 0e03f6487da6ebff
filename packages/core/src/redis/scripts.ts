import { corruptionOf } from '../server-errors.js';
import { RedisUnreachable } from '../server-errors.js';
import { toAsyncqError, type RedisClient, type RedisTarget } from './connection.js';
import { publishCommand } from './cluster-room.js';
import type { QueueKeys } from './queue-keys.js';
import type { RequestArgs } from './request-log.js';
import { loadSources, pack, type Call } from './script-sources.js';
import type { AddItem, CancelNotice, CancelStatus, ConsumeArgs, ConsumeReply, CountReply, FailItem, FiguresReply, FlowItem, OutcomeReply, PurgeWhich, TaskStateReply } from './script-types.js';

export { luaCommands } from './script-sources.js';
export type { AddItem, CancelNotice, CancelStatus, Chores, ConsumeArgs, ConsumeReply, CountReply, FailItem, FiguresReply, FlowItem, OutcomeReply, PurgeWhich, TaskStateReply } from './script-types.js';

/**
 * asyncq's Lua scripts on one client, with typed calls. ioredis sends them by SHA and falls back
 * to the source once per connection (and per node of a cluster). Every Redis failure comes out as
 * an asyncq error where it has a meaning for the caller (unreachable, refused).
 */
export class QueueScripts {
  /** `PUBLISH`, or `SPUBLISH` on a cluster so a signal reaches only its slot's master. */
  readonly pub: 'PUBLISH' | 'SPUBLISH';

  constructor(
    private readonly client: RedisClient,
    private readonly target: RedisTarget,
    /** The queue they run for, named in errors about its data. */
    private readonly queue = 'this queue',
  ) {
    this.pub = publishCommand(target);
    for (const s of loadSources()) {
      if (!(s.command in client)) client.defineCommand(s.command, { numberOfKeys: s.numberOfKeys, lua: s.lua });
    }
  }

  /**
   * A call that reached Redis after its deadline did nothing: its caller had given up on it. Seen
   * only by a caller whose own command timed out first, so it reads as Redis not answering in time.
   */
  private expired(): never {
    throw new RedisUnreachable(this.target.describe, 'the call reached Redis after its deadline and did nothing');
  }

  private async call(command: string, args: (string | number | Buffer)[]): Promise<unknown> {
    try {
      return await (this.client as unknown as Record<string, Call>)[command]!.apply(this.client, args);
    } catch (e) {
      throw corruptionOf(this.queue, e) ?? toAsyncqError(e, this.target) ?? e;
    }
  }

  /** See `add-12.lua`. Resolves to the ids handled (added or deduplicated), whether the gate stopped the batch, or -1 when shut down. */
  async add(
    k: QueueKeys,
    req: RequestArgs,
    maxsize: number,
    epoch: string,
    lifo: boolean,
    waitMs: number,
    items: AddItem[],
  ): Promise<{ handled: number; full: boolean; added: number; lostTotal: number; ids: string[] }> {
    const args: (string | number | Buffer)[] = [
      k.state, k.meta, k.id, k.wait, k.paused, k.prioritized, k.delayed, k.pc, k.stats, k.wantTask, k.wantRoom, k.stalled,
      pack({ prefix: k.base, channel: k.channel, pub: this.pub, maxsize, epoch, lifo, roomWaitMs: waitMs, ...req }),
    ];
    for (const it of items) args.push(it.id, it.name, it.data, it.opts, it.delay, it.priority, it.group);
    const [handled, full, added, lostTotal, ...ids] = (await this.call('asyncqAdd', args)) as [number, number, number, number, ...string[]];
    if (handled === -2) this.expired();
    return { handled: Number(handled), full: full === 1, added: Number(added), lostTotal: Number(lostTotal), ids };
  }

  /** See `consume-18.lua`. */
  async consume(k: QueueKeys, req: RequestArgs, a: ConsumeArgs): Promise<ConsumeReply> {
    const args: (string | number | Buffer)[] = [
      k.wait, k.active, k.prioritized, k.delayed, k.paused, k.meta, k.completed, k.failed, k.state, k.leases, k.stats,
      k.pc, k.wantTask, k.wantRoom, k.wantJoin, k.wantResult, k.waitingChildren, k.stalled,
      pack({
        prefix: k.base, channel: k.channel, pub: this.pub, lease: a.lease, leaseMs: a.leaseMs, holding: a.holding,
        wanted: a.wanted, speculative: a.speculative, keepCompleted: a.keepCompleted, keepFailed: a.keepFailed,
        maxStalls: a.maxStalls, lifo: a.lifo, interestMs: a.interestMs, reclaim: a.reclaim, promote: a.promote, renewLease: a.renewLease,
        keep: a.keep, ...req,
      }),
    ];
    for (const [id, result, attempt] of a.acks) args.push(id, result, attempt);
    const r = (await this.call('asyncqConsume', args)) as [number, string[], (string | null)[], number, string, number, number, number, number, number, number, string[], number?];
    if (r[0] === -1) this.expired();
    if (r[0] !== 1) return { leaseHeld: false, lost: [], tasks: [], nextDue: 0, shutdown: '', pending: 0, paused: false, heldCount: 0, now: 0, added: 0, lostTotal: 0, cancelled: [] };
    return {
      leaseHeld: true, lost: r[1], tasks: r[2], nextDue: Number(r[3]), shutdown: r[4], pending: Number(r[5]), paused: r[6] === 1,
      heldCount: Number(r[7]), now: Number(r[8]), added: Number(r[9]), lostTotal: Number(r[10]), cancelled: notices(r[11] ?? []),
      startBy: Number(r[12] ?? 0),
    };
  }

  /** See `fail-15.lua`. Resolves to the ids this handle no longer held, and those it no longer held because they were cancelled. */
  async fail(k: QueueKeys, req: RequestArgs, a: { lease: string; leaseMs: number; keepFailed: number; lifo: boolean; keepStacks: number; items: FailItem[] }): Promise<{ lost: string[]; cancelled: string[] }> {
    const args: (string | number | Buffer)[] = [
      k.wait, k.active, k.prioritized, k.delayed, k.paused, k.failed, k.leases, k.stats, k.pc, k.wantTask, k.wantJoin,
      k.wantResult, k.waitingChildren, k.stalled, k.state,
      pack({ prefix: k.base, channel: k.channel, pub: this.pub, lease: a.lease, leaseMs: a.leaseMs, keepFailed: a.keepFailed, lifo: a.lifo, keepStacks: a.keepStacks, ...req }),
    ];
    for (const it of a.items) args.push(it.id, it.message, it.stack, it.retryIn, it.rateLimited === true ? '1' : '0');
    const r = (await this.call('asyncqFail', args)) as [string[], string[]] | [number];
    if (r[0] === -1) this.expired();
    const [lost, cancelled] = r as [string[], string[]];
    return { lost, cancelled };
  }

  /** See `remove-grouped-4.lua`: true when job `id` was a waiting task of a group, and is removed. */
  async removeGrouped(k: QueueKeys, id: string): Promise<boolean> {
    return (await this.call('asyncqRemoveGrouped', [k.wait, k.prioritized, k.stats, k.pc, pack({ prefix: k.base, id })])) === 1;
  }

  /** See `hand-back-10.lua`: every task under the lease (`'all'`), or the given ids. Resolves to how many went back. */
  async handBack(k: QueueKeys, lease: string, lifo: boolean, ids: string[] | 'all'): Promise<number> {
    const all = ids === 'all';
    const args: (string | number | Buffer)[] = [
      k.wait, k.active, k.prioritized, k.leases, k.pc, k.wantTask, k.stalled, k.state, k.paused, k.delayed,
      pack({ prefix: k.base, channel: k.channel, pub: this.pub, lease, lifo, all }),
    ];
    if (!all) args.push(...ids);
    return Number(await this.call('asyncqHandBack', args));
  }

  /** See `renew-1.lua`. Undefined when the lease no longer exists, else the tasks cancelled under it that the handle may not know of. */
  async renew(k: QueueKeys, lease: string, leaseMs: number): Promise<CancelNotice[] | undefined> {
    const r = (await this.call('asyncqRenew', [k.leases, pack({ prefix: k.base, lease, leaseMs })])) as [number, string[]?];
    return Number(r[0]) === 1 ? notices(r[1] ?? []) : undefined;
  }

  /**
   * See `count-10.lua`; `announceMs` > 0 also announces a joiner while tasks are unfinished, and
   * `book` writes off losses the caller has told of.
   */
  async count(k: QueueKeys, announceMs: number, book: { missing?: number; rollback?: number } = {}): Promise<CountReply> {
    const r = (await this.call('asyncqCount', [
      k.wait, k.paused, k.prioritized, k.delayed, k.active, k.waitingChildren, k.state, k.wantJoin, k.stats, k.stalled,
      pack({ prefix: k.base, announceMs, bookMissing: book.missing, bookRollback: book.rollback }),
    ])) as [number, number, number, number, number, number, string, string, number, number, number, number];
    return {
      wait: Number(r[0]),
      paused: Number(r[1]),
      prioritized: Number(r[2]),
      delayed: Number(r[3]),
      active: Number(r[4]),
      waitingChildren: Number(r[5]),
      shutdown: r[6],
      epoch: r[7],
      added: Number(r[8]),
      stalled: Number(r[9]),
      lostTotal: Number(r[10]),
      missing: Number(r[11]),
    };
  }

  /** See `figures-18.lua`: one read of everything an exporter shows of a queue or partition, and of the worker registry under its tag. */
  async figures(k: QueueKeys): Promise<FiguresReply> {
    const args = [
      k.wait, k.paused, k.prioritized, k.delayed, k.active, k.waitingChildren, k.stalled, k.completed, k.failed, k.meta, k.state, k.stats,
      k.wantRoom, k.wantJoin, k.workers, k.heartbeats, k.desired, k.cancelled, pack({ prefix: k.base }),
    ];
    return (await this.call('asyncqFigures', args)) as FiguresReply;
  }

  /**
   * See `purge-10.lua`: removes at most `budget` tasks in `which` states; with `cutoff` > 0 only
   * those older than it. Resolves to how many went, and whether more are left (call again).
   */
  async purge(k: QueueKeys, budget: number, which: PurgeWhich, cutoff: number): Promise<{ removed: number; more: boolean }> {
    const r = (await this.call('asyncqPurge', [
      k.wait, k.paused, k.prioritized, k.delayed, k.active, k.waitingChildren, k.stalled, k.stats, k.completed, k.failed,
      pack({ prefix: k.base, channel: k.channel, pub: this.pub, budget, which, cutoff }),
    ])) as [number, number];
    return { removed: Number(r[0]), more: r[1] === 1 };
  }

  /** See `check-access-1.lua`: the first of `commands` the user's ACL refuses on this queue, or undefined. */
  async checkAccess(k: QueueKeys, commands: readonly string[]): Promise<string | undefined> {
    return String(await this.call('asyncqCheckAccess', [k.state, pack({ channel: k.channel }), ...commands])) || undefined;
  }

  /** See `shutdown-9.lua`. Resolves to how many waiting or delayed tasks remain to discard. */
  async shutdown(k: QueueKeys, mode: 'graceful' | 'immediate' | 'reopen', batch: number): Promise<number> {
    return Number(
      await this.call('asyncqShutdown', [
        k.state, k.wait, k.paused, k.prioritized, k.delayed, k.active, k.waitingChildren, k.stats, k.stalled,
        pack({ prefix: k.base, channel: k.channel, pub: this.pub, mode, batch }),
      ]),
    );
  }

  /** See `update-3.lua`. False when the handle no longer holds the task. */
  async update(k: QueueKeys, req: RequestArgs, id: string, lease: string, kind: 'progress' | 'log', value: string, keepLogs: number): Promise<boolean> {
    const r = Number(await this.call('asyncqUpdate', [k.job(id), k.logs(id), k.held(lease), pack({ prefix: k.base, id, kind, value, keepLogs, lease, ...req })]));
    if (r === -1) this.expired();
    return r === 1;
  }

  /** See `outcomes-1.lua`: how each task ended, or that it has not; `announceMs` > 0 also announces a result waiter while one is unfinished. */
  async outcomes(k: QueueKeys, jobIds: readonly string[], announceMs: number): Promise<OutcomeReply[]> {
    const r = (await this.call('asyncqOutcomes', [k.wantResult, pack({ prefix: k.base, announceMs }), ...jobIds])) as string[];
    const out: OutcomeReply[] = [];
    for (let i = 0; i < r.length; ) {
      const tag = r[i++];
      if (tag === 'c') out.push({ state: 'completed', returnvalue: r[i++] ?? 'null' });
      else if (tag === 'f') out.push({ state: 'failed', reason: r[i++] ?? '', stacktrace: r[i++] ?? '[]' });
      else if (tag === 'x') out.push({ state: 'cancelled', reason: r[i++] ?? '', by: r[i++] ?? '' });
      else out.push({ state: tag === 'm' ? 'missing' : 'pending' });
    }
    return out;
  }

  /** See `task-state-2.lua`: where one task is now (a flow's own task: where its flow is). */
  async taskState(k: QueueKeys, jobId: string): Promise<TaskStateReply> {
    return String(await this.call('asyncqTaskState', [k.delayed, k.waitingChildren, pack({ prefix: k.base, id: jobId })])) as TaskStateReply;
  }

  /** See `cancel-12.lua`: one status per id given, and how many parts of flows were cancelled with them. */
  async cancel(k: QueueKeys, req: RequestArgs, a: { reason: string; by: string; keep: number; jobIds: readonly string[] }): Promise<{ statuses: CancelStatus[]; parts: number }> {
    const r = (await this.call('asyncqCancel', [
      k.wait, k.active, k.prioritized, k.delayed, k.paused, k.stalled, k.waitingChildren, k.cancelled, k.stats, k.leases, k.wantJoin, k.wantResult,
      pack({ prefix: k.base, channel: k.channel, pub: this.pub, reason: a.reason, by: a.by, keep: a.keep, ...req }),
      ...a.jobIds,
    ])) as [CancelStatus[], number] | [number];
    if (r[0] === -1) this.expired();
    const [statuses, parts] = r as [CancelStatus[], number];
    return { statuses, parts: Number(parts) };
  }

  /** See `flow-13.lua`: creates a chain or a chord; resolves to its job ids in the order given, unless the queue was full or shut down. */
  async flow(
    k: QueueKeys,
    req: RequestArgs,
    a: { kind: 'chain' | 'chord'; maxsize: number; epoch: string; lifo: boolean; roomWaitMs: number; items: FlowItem[] },
  ): Promise<{ status: 'created' | 'full' | 'shut down'; added: number; lostTotal: number; ids: string[] }> {
    const args: (string | number | Buffer)[] = [
      k.state, k.meta, k.id, k.wait, k.paused, k.prioritized, k.delayed, k.pc, k.stats, k.wantTask, k.wantRoom, k.stalled, k.waitingChildren,
      pack({ prefix: k.base, channel: k.channel, pub: this.pub, kind: a.kind, maxsize: a.maxsize, epoch: a.epoch, lifo: a.lifo, roomWaitMs: a.roomWaitMs, ...req }),
    ];
    for (const it of a.items) args.push(it.name, it.data, it.opts, it.delay, it.priority, it.group);
    const [status, added, lostTotal, ...ids] = (await this.call('asyncqFlow', args)) as [number, number, number, ...string[]];
    if (status === -2) this.expired();
    return { status: status === 1 ? 'created' : status === 0 ? 'full' : 'shut down', added: Number(added), lostTotal: Number(lostTotal), ids };
  }

  /** See `registry-2.lua`: beat (register or refresh) an entry. */
  async beat(entries: string, beats: string, id: string, infoJson: string, ttlMs: number): Promise<void> {
    await this.call('asyncqRegistry', [entries, beats, pack({ op: 'beat', id, info: infoJson, ttlMs })]);
  }

  /** Removes an entry from a registry. */
  async leave(entries: string, beats: string, id: string): Promise<void> {
    await this.call('asyncqRegistry', [entries, beats, pack({ op: 'leave', id })]);
  }

  /** The JSON infos of live entries (read only). */
  async list(entries: string, beats: string): Promise<string[]> {
    return (await this.call('asyncqRegistry', [entries, beats, pack({ op: 'list' })])) as string[];
  }
}

/** A flat list of id, JSON { reason, by } as the notices it stands for. */
function notices(flat: readonly string[]): CancelNotice[] {
  const out: CancelNotice[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    let info: { reason?: unknown; by?: unknown } = {};
    try {
      info = JSON.parse(flat[i + 1]!) as typeof info;
    } catch {
      // an unreadable record still says the task was cancelled
    }
    out.push({ jobId: flat[i]!, reason: typeof info.reason === 'string' ? info.reason : '', by: typeof info.by === 'string' ? info.by : '' });
  }
  return out;
}
