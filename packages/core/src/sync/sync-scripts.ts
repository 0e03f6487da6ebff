import { readdirSync, readFileSync } from 'node:fs';
import { toAsyncqError, type RedisClient, type RedisTarget } from '../redis/connection.js';
import { publishCommand } from '../redis/cluster-room.js';
import type { SyncKeys } from '../redis/sync-keys.js';
import { packOptions, type ScriptOptions } from './msgpack.js';

const LUA_DIR = new URL('../../lua/sync/', import.meta.url);

interface ScriptSource {
  /** The ioredis command name, e.g. `asyncqSyncAcquire`. */
  command: string;
  numberOfKeys: number;
  lua: string;
}

let sources: ScriptSource[] | undefined;

/** Reads `lua/sync/<name>-<numberOfKeys>.lua` once per process, inserting `lua/sync/lib/sync-lib.lua` where asked. */
function loadSources(): ScriptSource[] {
  if (sources) return sources;
  const lib = readFileSync(new URL('lib/sync-lib.lua', LUA_DIR), 'utf8');
  sources = readdirSync(LUA_DIR)
    .filter((f) => f.endsWith('.lua'))
    .map((file) => {
      const m = /^([a-z-]+)-(\d+)\.lua$/.exec(file);
      if (!m) throw new Error(`asyncq: Lua file name ${file} must be <name>-<numberOfKeys>.lua`);
      const camel = m[1]!.replace(/(^|-)([a-z])/g, (_, _dash: string, c: string) => c.toUpperCase());
      return { command: `asyncqSync${camel}`, numberOfKeys: Number(m[2]), lua: readFileSync(new URL(file, LUA_DIR), 'utf8').replace('-- @include sync-lib', lib) };
    });
  return sources;
}

type Call = (...args: (string | number | Buffer)[]) => Promise<unknown>;

/** A result per id: the fencing token when it holds, else a number saying how it waits. */
export type GrantResult = string | number;

/** How `acquire-5.lua` answered. */
export type AcquireReply = { mismatch: { kind: string; value: number } } | { nextMs: number; lost: boolean; results: GrantResult[] };

/** How `barrier-arrive-4.lua` answered. */
export type ArriveReply =
  | { outcome: 'mismatch'; parties: number }
  | { outcome: 'broken' | 'blocked' }
  | { outcome: 'passed' | 'waiting'; index: number };

/** Who a session is, shown by `asyncq locks`. */
export interface SessionLease {
  session: string;
  leaseMs: number;
  /** JSON `{ host, pid }`. */
  info: string;
}

/**
 * The primitives' Lua scripts on one client, with typed calls; scalar options travel as one
 * msgpack argument. ioredis sends them by SHA and falls back to the source once per connection
 * (and per node of a cluster). Redis failures come out as asyncq errors where they mean something
 * to the caller (unreachable, refused).
 */
export class SyncScripts {
  /** `PUBLISH`, or `SPUBLISH` on a cluster so a message reaches only its slot's master. */
  private readonly pub: 'PUBLISH' | 'SPUBLISH';

  constructor(
    private readonly client: RedisClient,
    private readonly target: RedisTarget,
  ) {
    this.pub = publishCommand(target);
    for (const s of loadSources()) {
      if (!(s.command in client)) client.defineCommand(s.command, { numberOfKeys: s.numberOfKeys, lua: s.lua });
    }
  }

  private async call(command: string, keys: string[], options: ScriptOptions | undefined, rest: string[] = []): Promise<unknown> {
    const args: (string | Buffer)[] = [...keys, ...(options ? [packOptions(options)] : []), ...rest];
    try {
      return await (this.client as unknown as Record<string, Call>)[command]!.apply(this.client, args);
    } catch (e) {
      throw toAsyncqError(e, this.target) ?? e;
    }
  }

  private publishing(k: SyncKeys): { pub: string; channel: string } {
    return { pub: this.pub, channel: k.channel };
  }

  private permitKeys(k: SyncKeys): string[] {
    return [k.state, k.holders, k.queue, k.leases, k.sessions];
  }

  /** See `acquire-5.lua`. */
  async acquire(k: SyncKeys, a: SessionLease & { kind: string; value: number; fresh: boolean; holding: boolean }, ids: string[]): Promise<AcquireReply> {
    const r = (await this.call('asyncqSyncAcquire', this.permitKeys(k), { ...a, fresh: a.fresh ? 1 : 0, holding: a.holding ? 1 : 0, ...this.publishing(k) }, ids)) as GrantResult[];
    if (Number(r[0]) === 0) return { mismatch: { kind: String(r[1]), value: Number(r[2]) } };
    return { nextMs: Number(r[1]), lost: Number(r[2]) === 1, results: r.slice(3) };
  }

  /**
   * See `release-5.lua`: 1 released, 0 the hold is gone, -1 a bounded release past the value. `id`
   * is the hold's, or a fresh one for a release by a handle holding none (a resend is answered once).
   */
  async release(k: SyncKeys, hold: string, id: string, mode: string): Promise<number> {
    return Number(await this.call('asyncqSyncRelease', this.permitKeys(k), { hold, id, mode, done: k.done, ...this.publishing(k) }));
  }

  /** See `cancel-2.lua`. */
  async cancel(k: SyncKeys, ids: string[]): Promise<GrantResult[]> {
    return (await this.call('asyncqSyncCancel', [k.holders, k.queue], undefined, ids)) as GrantResult[];
  }

  /**
   * See `renew-5.lua`. False when the session's lease no longer exists. With `known` (every id the
   * handle holds, waits for or has a script about on its way), holds of the session outside it are
   * handed on: a release that a failover lost.
   */
  async renew(k: SyncKeys, session: string, leaseMs: number, known?: string[]): Promise<boolean> {
    return Number(await this.call('asyncqSyncRenew', this.permitKeys(k), { session, leaseMs, known: known ? 1 : 0, ...this.publishing(k) }, known)) === 1;
  }

  /** See `leave-5.lua`. */
  async leave(k: SyncKeys, session: string): Promise<void> {
    await this.call('asyncqSyncLeave', this.permitKeys(k), { session, ...this.publishing(k) });
  }

  /** See `peek-3.lua`. */
  async peek(k: SyncKeys): Promise<{ value: number; extra: number; held: number; waiting: number }> {
    const r = (await this.call('asyncqSyncPeek', [k.state, k.holders, k.queue], undefined)) as number[];
    return { value: Number(r[0]), extra: Number(r[1]), held: Number(r[2]), waiting: Number(r[3]) };
  }

  /** See `cond-wait-6.lua`. False when the caller no longer holds the lock. */
  async condWait(k: SyncKeys, condition: string, hold: string, waiter: string): Promise<boolean> {
    return Number(await this.call('asyncqSyncCondWait', [...this.permitKeys(k), k.conditionWaiters(condition)], { hold, waiter, done: k.done, ...this.publishing(k) })) === 1;
  }

  /** See `cond-notify-6.lua`: how many were woken, -1 when the caller no longer holds the lock; `id` is fresh for each notify. */
  async condNotify(k: SyncKeys, condition: string, hold: string, n: number, id: string): Promise<number> {
    return Number(await this.call('asyncqSyncCondNotify', [...this.permitKeys(k), k.conditionWaiters(condition)], { hold, n, id, done: k.done }));
  }

  /** See `cond-check-6.lua`. */
  async condCheck(k: SyncKeys, condition: string, a: SessionLease & { holding: boolean }, ids: string[]): Promise<{ nextMs: number; lost: boolean; results: GrantResult[] }> {
    const r = (await this.call('asyncqSyncCondCheck', [...this.permitKeys(k), k.conditionWaiters(condition)], { ...a, holding: a.holding ? 1 : 0, ...this.publishing(k) }, ids)) as GrantResult[];
    return { nextMs: Number(r[0]), lost: Number(r[1]) === 1, results: r.slice(2) };
  }

  /** See `cond-cancel-6.lua`. */
  async condCancel(k: SyncKeys, condition: string, mode: 'abort' | 'drop', ids: string[]): Promise<GrantResult[]> {
    return (await this.call('asyncqSyncCondCancel', [...this.permitKeys(k), k.conditionWaiters(condition)], { mode, done: k.done, ...this.publishing(k) }, ids)) as GrantResult[];
  }

  /** See `drop-1.lua`. */
  async dropConditionWaiters(k: SyncKeys, condition: string, session: string): Promise<void> {
    await this.call('asyncqSyncDrop', [k.conditionWaiters(condition)], { session });
  }

  private barrierKeys(k: SyncKeys): string[] {
    return [k.state, k.members, k.leases, k.sessions];
  }

  /** See `barrier-arrive-4.lua`. */
  async barrierArrive(k: SyncKeys, a: SessionLease & { parties: number; id: string }): Promise<ArriveReply> {
    const r = (await this.call('asyncqSyncBarrierArrive', this.barrierKeys(k), { ...a, done: k.done, ...this.publishing(k) })) as [string, number?];
    if (r[0] === 'mismatch') return { outcome: 'mismatch', parties: Number(r[1]) };
    if (r[0] === 'passed' || r[0] === 'waiting') return { outcome: r[0], index: Number(r[1]) };
    return { outcome: r[0] === 'broken' ? 'broken' : 'blocked' };
  }

  /** See `barrier-check-4.lua`. */
  async barrierCheck(k: SyncKeys, a: SessionLease & { leave: boolean }, ids: string[]): Promise<string[]> {
    return (await this.call('asyncqSyncBarrierCheck', this.barrierKeys(k), { ...a, leave: a.leave ? 1 : 0, done: k.done, ...this.publishing(k) }, ids)) as string[];
  }

  /** See `barrier-control-4.lua`. Resolves to the phase after it. */
  async barrierControl(k: SyncKeys, op: 'reset' | 'abort' | 'leave', parties: number, session: string): Promise<string> {
    return String(await this.call('asyncqSyncBarrierControl', this.barrierKeys(k), { op, parties, session, ...this.publishing(k) }));
  }

  /** See `event-1.lua`. */
  async event(k: SyncKeys, op: 'set' | 'clear'): Promise<number> {
    return Number(await this.call('asyncqSyncEvent', [k.state], { op, ...this.publishing(k) }));
  }

  /** Reads fields of the primitive's state hash (no script). */
  async stateFields(k: SyncKeys, ...fields: string[]): Promise<(string | null)[]> {
    try {
      return await this.client.hmget(k.state, ...fields);
    } catch (e) {
      throw toAsyncqError(e, this.target) ?? e;
    }
  }

  /** How many parties are inside a Barrier now (no script). */
  async memberCount(k: SyncKeys): Promise<number> {
    try {
      return await this.client.zcard(k.members);
    } catch (e) {
      throw toAsyncqError(e, this.target) ?? e;
    }
  }
}
