import { readdirSync, readFileSync } from 'node:fs';
import { corruptionOf } from '../errors.js';
import { toAsyncqError, type RedisClient, type RedisTarget } from './connection.js';
import type { QueueKeys } from './queue-keys.js';

const LUA_DIR = new URL('../../lua/', import.meta.url);

interface ScriptSource {
  /** The ioredis command name, e.g. `asyncqConsume`. */
  command: string;
  numberOfKeys: number;
  lua: string;
}

let sources: ScriptSource[] | undefined;

/** Reads `lua/<name>-<numberOfKeys>.lua` once per process, inserting `lua/lib/queue-lib.lua` where asked. */
function loadSources(): ScriptSource[] {
  if (sources) return sources;
  const lib = readFileSync(new URL('lib/queue-lib.lua', LUA_DIR), 'utf8');
  sources = readdirSync(LUA_DIR)
    .filter((f) => f.endsWith('.lua'))
    .map((file) => {
      const m = /^([a-z-]+)-(\d+)\.lua$/.exec(file);
      if (!m) throw new Error(`asyncq: Lua file name ${file} must be <name>-<numberOfKeys>.lua`);
      const camel = m[1]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      return {
        command: `asyncq${camel[0]!.toUpperCase()}${camel.slice(1)}`,
        numberOfKeys: Number(m[2]),
        lua: readFileSync(new URL(file, LUA_DIR), 'utf8').replace('-- @include queue-lib', lib),
      };
    });
  return sources;
}

/**
 * The Redis commands asyncq's Lua scripts send (those of `command`, e.g. `asyncqRegistry`, or of
 * every script), read from their sources: what a user's ACL must allow. A publish on the queue's
 * channel is listed as PUBLISH and SPUBLISH.
 */
export function luaCommands(command?: string): string[] {
  const out = new Set<string>();
  for (const s of loadSources()) {
    if (command !== undefined && s.command !== command) continue;
    for (const m of s.lua.matchAll(/(?:rcall|redis\.p?call)\(\s*(?:"([A-Za-z]+)"|'([A-Za-z]+)'|(pub)\b)/g)) {
      if (m[3]) out.add('PUBLISH').add('SPUBLISH');
      else out.add((m[1] ?? m[2])!.toUpperCase());
    }
  }
  return [...out].sort();
}

type Call = (...args: (string | number)[]) => Promise<unknown>;

/** How `consume-18.lua` answered. */
export interface ConsumeReply {
  /** False when the handle's lease on this partition was lost: nothing was applied. */
  leaseHeld: boolean;
  /** Acknowledged ids this handle no longer held. */
  lost: string[];
  /** Reserved tasks: id, name, data, opts, timestamp, delay, atm per task. */
  tasks: (string | null)[];
  /** When the next delayed task is due (ms since the epoch), 0 for none; read only when fewer than wanted were found. */
  nextDue: number;
  /** The shutdown mode, "" when open; read only when fewer than wanted were found. */
  shutdown: string;
  /** Ready and delayed tasks left; read only when fewer than wanted were found. */
  pending: number;
  paused: boolean;
}

/** What `count-10.lua` read. */
export interface CountReply {
  wait: number;
  paused: number;
  prioritized: number;
  delayed: number;
  active: number;
  waitingChildren: number;
  shutdown: string;
  epoch: string;
  added: number;
  /** Tasks back from a consumer, waiting for room under maxsize (unfinished, not yet ready). */
  stalled: number;
}

/** How a task ended, as `outcome-3.lua` read it. */
export type OutcomeReply =
  | { state: 'missing' | 'pending' }
  | { state: 'completed'; returnvalue: string }
  | { state: 'failed'; reason: string; stacktrace: string };

/** One task for `add-12.lua`. */
export interface AddItem {
  /** A dedup id, or "" for the next counter value. */
  id: string;
  name: string;
  data: string;
  opts: string;
  delay: number;
  /** 0 for none, else asyncq priority + 1 (BullMQ's 0 means "no priority"). */
  priority: number;
}

/** What `purge-10.lua` removes. */
export type PurgeWhich = 'waiting' | 'delayed' | 'both' | 'completed' | 'failed';

/** One failed attempt for `fail-15.lua`. */
export interface FailItem {
  id: string;
  message: string;
  stack: string;
  /** ms until the retry, 0 for at once, -1 when the task failed for good. */
  retryIn: number;
}

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
    this.pub = target.kind === 'cluster' ? 'SPUBLISH' : 'PUBLISH';
    for (const s of loadSources()) {
      if (!(s.command in client)) client.defineCommand(s.command, { numberOfKeys: s.numberOfKeys, lua: s.lua });
    }
  }

  private async call(command: string, args: (string | number)[]): Promise<unknown> {
    try {
      return await (this.client as unknown as Record<string, Call>)[command]!.apply(this.client, args);
    } catch (e) {
      throw corruptionOf(this.queue, e) ?? toAsyncqError(e, this.target) ?? e;
    }
  }

  /** See `add-12.lua`. Resolves to the ids handled (added or deduplicated), whether the gate stopped the batch, or -1 when shut down. */
  async add(k: QueueKeys, maxsize: number, epoch: string, lifo: boolean, waitMs: number, items: AddItem[]): Promise<{ handled: number; full: boolean; ids: string[] }> {
    const args: (string | number)[] = [
      k.state, k.meta, k.id, k.wait, k.paused, k.prioritized, k.delayed, k.pc, k.stats, k.wantTask, k.wantRoom, k.stalled,
      k.base, k.channel, this.pub, maxsize, epoch, lifo ? 1 : 0, waitMs, items.length,
    ];
    for (const it of items) args.push(it.id, it.name, it.data, it.opts, it.delay, it.priority);
    const [handled, full, ...ids] = (await this.call('asyncqAdd', args)) as [number, number, ...string[]];
    return { handled: Number(handled), full: full === 1, ids };
  }

  /** See `consume-18.lua`. */
  async consume(
    k: QueueKeys,
    a: { lease: string; leaseMs: number; holding: boolean; wanted: number; speculative: number; keepCompleted: number; keepFailed: number; maxStalls: number; lifo: boolean; interestMs: number; todo: string; acks: [string, string, number][] },
  ): Promise<ConsumeReply> {
    const args: (string | number)[] = [
      k.wait, k.active, k.prioritized, k.delayed, k.paused, k.meta, k.completed, k.failed, k.state, k.leases, k.stats,
      k.pc, k.wantTask, k.wantRoom, k.wantJoin, k.wantResult, k.waitingChildren, k.stalled,
      k.base, k.channel, this.pub, a.lease, a.leaseMs, a.holding ? 1 : 0, a.wanted, a.speculative, a.keepCompleted,
      a.keepFailed, a.maxStalls, a.lifo ? 1 : 0, a.interestMs, a.todo, a.acks.length,
    ];
    for (const [id, result, attempt] of a.acks) args.push(id, result, attempt);
    const r = (await this.call('asyncqConsume', args)) as [number, string[], (string | null)[], number, string, number, number];
    if (r[0] === 0) return { leaseHeld: false, lost: [], tasks: [], nextDue: 0, shutdown: '', pending: 0, paused: false };
    return { leaseHeld: true, lost: r[1], tasks: r[2], nextDue: Number(r[3]), shutdown: r[4], pending: Number(r[5]), paused: r[6] === 1 };
  }

  /** See `fail-15.lua`. Resolves to the ids this handle no longer held. */
  async fail(k: QueueKeys, a: { lease: string; leaseMs: number; keepFailed: number; lifo: boolean; keepStacks: number; items: FailItem[] }): Promise<string[]> {
    const args: (string | number)[] = [
      k.wait, k.active, k.prioritized, k.delayed, k.paused, k.failed, k.leases, k.stats, k.pc, k.wantTask, k.wantJoin,
      k.wantResult, k.waitingChildren, k.stalled, k.state,
      k.base, k.channel, this.pub, a.lease, a.leaseMs, a.keepFailed, a.lifo ? 1 : 0, a.keepStacks, a.items.length,
    ];
    for (const it of a.items) args.push(it.id, it.message, it.stack, it.retryIn);
    return (await this.call('asyncqFail', args)) as string[];
  }

  /** See `hand-back-10.lua`: every task under the lease (`'all'`), or the given ids. Resolves to how many went back. */
  async handBack(k: QueueKeys, lease: string, lifo: boolean, ids: string[] | 'all'): Promise<number> {
    const args: (string | number)[] = [k.wait, k.active, k.prioritized, k.leases, k.pc, k.wantTask, k.stalled, k.state, k.paused, k.delayed, k.base, k.channel, this.pub, lease, lifo ? 1 : 0];
    if (ids === 'all') args.push('all');
    else args.push(ids.length, ...ids);
    return Number(await this.call('asyncqHandBack', args));
  }

  /** See `renew-1.lua`. False when the lease no longer exists. */
  async renew(k: QueueKeys, lease: string, leaseMs: number): Promise<boolean> {
    return Number(await this.call('asyncqRenew', [k.leases, lease, leaseMs])) === 1;
  }

  /** See `count-10.lua`; `announceMs` > 0 also announces a joiner while tasks are unfinished. */
  async count(k: QueueKeys, announceMs: number): Promise<CountReply> {
    const r = (await this.call('asyncqCount', [k.wait, k.paused, k.prioritized, k.delayed, k.active, k.waitingChildren, k.state, k.wantJoin, k.stats, k.stalled, announceMs])) as [
      number, number, number, number, number, number, string, string, number, number,
    ];
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
    };
  }

  /** See `shutdown-9.lua`. Resolves to how many waiting or delayed tasks remain to discard. */
  async shutdown(k: QueueKeys, mode: 'graceful' | 'immediate' | 'reopen', batch: number): Promise<number> {
    return Number(
      await this.call('asyncqShutdown', [k.state, k.wait, k.paused, k.prioritized, k.delayed, k.active, k.waitingChildren, k.stats, k.stalled, k.base, k.channel, this.pub, mode, batch]),
    );
  }

  /** See `update-3.lua`. False when the handle no longer holds the task. */
  async update(k: QueueKeys, id: string, lease: string, kind: 'progress' | 'log', value: string, keepLogs: number): Promise<boolean> {
    return Number(await this.call('asyncqUpdate', [k.job(id), k.logs(id), k.held(lease), id, kind, value, keepLogs])) === 1;
  }

  /** See `outcome-3.lua`; `announceMs` > 0 also announces a result waiter while the task is unfinished. */
  async outcome(k: QueueKeys, id: string, announceMs: number): Promise<OutcomeReply> {
    const r = (await this.call('asyncqOutcome', [k.job(id), k.failed, k.wantResult, id, announceMs])) as string[];
    if (r[0] === 'completed') return { state: 'completed', returnvalue: r[1] ?? 'null' };
    if (r[0] === 'failed') return { state: 'failed', reason: r[1] ?? '', stacktrace: r[2] ?? '[]' };
    return { state: r[0] === 'missing' ? 'missing' : 'pending' };
  }

  /** See `registry-2.lua`: beat (register or refresh) an entry. */
  async beat(entries: string, beats: string, id: string, infoJson: string, ttlMs: number): Promise<void> {
    await this.call('asyncqRegistry', [entries, beats, 'beat', id, infoJson, ttlMs]);
  }

  /** Removes an entry from a registry. */
  async leave(entries: string, beats: string, id: string): Promise<void> {
    await this.call('asyncqRegistry', [entries, beats, 'leave', id]);
  }

  /** The JSON infos of live entries (read only). */
  async list(entries: string, beats: string): Promise<string[]> {
    return (await this.call('asyncqRegistry', [entries, beats, 'list'])) as string[];
  }

  /**
   * See `purge-10.lua`: removes at most `budget` tasks in `which` states; with `cutoff` > 0 only
   * older ones (wait list, finished sets). Resolves to how many, and whether to call again.
   */
  async purge(k: QueueKeys, budget: number, which: PurgeWhich, cutoff: number): Promise<{ removed: number; more: boolean }> {
    const r = (await this.call('asyncqPurge', [
      k.wait, k.paused, k.prioritized, k.delayed, k.active, k.waitingChildren, k.stalled, k.stats, k.completed, k.failed,
      k.base, k.channel, this.pub, budget, which, cutoff,
    ])) as [number, number];
    return { removed: Number(r[0]), more: r[1] === 1 };
  }

  /** See `check-access-1.lua`: the first of `commands` the user may not run on the queue's keys and channel, or undefined. */
  async checkAccess(k: QueueKeys, commands: readonly string[]): Promise<string | undefined> {
    return String(await this.call('asyncqCheckAccess', [k.state, k.channel, ...commands])) || undefined;
  }
}
