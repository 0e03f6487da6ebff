import type { RedisClient } from '../redis/connection.js';
import { mastersOf } from '../redis/cluster-room.js';
import { conditionPattern, parseSyncKey, syncKeys, syncStatePattern, type SyncKind } from '../redis/sync-keys.js';

/** Who holds a Lock or a Semaphore permit, as `asyncq locks` shows it. */
export interface HolderInfo {
  /** The hold's id: `<handle session>.<n>`. */
  id: string;
  /** The holder's host and process id, as its handle recorded them. */
  host?: string;
  pid?: number;
  /** ms since it was granted (Redis's clock). */
  ageMs: number;
  /** Its fencing token. */
  token: number;
  /** ms until its lease runs out; negative: it ran out, and the next script gives the hold to the next waiter. */
  leaseLeftMs: number;
}

/** One coordination primitive found in Redis. */
export interface PrimitiveInfo {
  kind: 'lock' | 'semaphore' | 'bounded-semaphore' | 'event' | 'condition' | 'barrier';
  name: string;
  /** Lock, Semaphore, Condition: permits in all (a Lock's is 1; a Semaphore's value plus permits added by releases). */
  value?: number;
  /** Lock, Semaphore, Condition: who holds. */
  holders: HolderInfo[];
  /** Waiting: for a permit (Lock, Semaphore, Condition's lock), for a notify (Condition), inside a Barrier. */
  waiters: number;
  /** Event: whether it is set. */
  set?: boolean;
  /** The last fencing token given (Lock, Semaphore, Condition). */
  fencingToken?: number;
  /** Barrier: its parties and phase (`filling`, `draining`, `resetting`, `broken`). */
  parties?: number;
  phase?: string;
  /** Conditions over this lock, with their waiters (for a Condition, its own). */
  conditions?: { name: string; waiters: number }[];
}

/**
 * Every primitive under `prefix` (only `names` when given), sorted by kind and name, read from
 * Redis without writing anything: SCAN on every master of a cluster, then one pipeline per
 * primitive (its keys share one slot).
 */
export async function listPrimitives(client: RedisClient, prefix = 'asyncq', names?: readonly string[]): Promise<PrimitiveInfo[]> {
  const found = new Map<string, { kind: SyncKind; name: string; conditions: string[] }>();
  for (const node of mastersOf(client)) {
    for (const pattern of [syncStatePattern(prefix), conditionPattern(prefix)]) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          const p = parseSyncKey(prefix, key);
          if (!p || (names?.length && !names.includes(p.name))) continue;
          const id = `${p.kind}:${p.name}`;
          const entry = found.get(id) ?? { kind: p.kind, name: p.name, conditions: [] };
          if (p.condition) entry.conditions.push(p.condition);
          found.set(id, entry);
        }
      } while (cursor !== '0');
    }
  }
  const out: PrimitiveInfo[] = [];
  for (const { kind, name, conditions } of found.values()) out.push(await readPrimitive(client, prefix, kind, name, conditions));
  const order: PrimitiveInfo['kind'][] = ['lock', 'semaphore', 'bounded-semaphore', 'condition', 'event', 'barrier'];
  return out.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function readPrimitive(client: RedisClient, prefix: string, kind: SyncKind, name: string, conditions: string[]): Promise<PrimitiveInfo> {
  const k = syncKeys(prefix, kind, name);
  const p = client.pipeline().time().hgetall(k.state).hgetall(k.holders).zcard(k.queue).hgetall(k.sessions).zrange(k.leases, 0, -1, 'WITHSCORES').zcard(k.members);
  for (const c of conditions) p.zcard(k.conditionWaiters(c));
  const replies = (await p.exec()) ?? [];
  const failed = replies.find(([e]) => e);
  if (failed) throw failed[0];
  const value = (i: number): unknown => replies[i]?.[1];
  const [secs, micros] = value(0) as [string, string];
  const now = Number(secs) * 1000 + Math.floor(Number(micros) / 1000);
  const state = value(1) as Record<string, string>;
  const leases = new Map<string, number>();
  const flat = value(5) as string[];
  for (let i = 0; i < flat.length; i += 2) leases.set(flat[i]!, Number(flat[i + 1]));
  const sessions = value(4) as Record<string, string>;
  const holders = Object.entries(value(2) as Record<string, string>).map(([id, v]) => {
    const [token, since] = v.split(' ');
    const session = id.split('.')[0]!;
    const who = parseInfo(sessions[session]);
    return { id, ...who, ageMs: now - Number(since), token: Number(token), leaseLeftMs: (leases.get(session) ?? now) - now };
  });
  const conds = conditions.map((c, i) => ({ name: c, waiters: Number(value(7 + i)) })).sort((a, b) => (a.name < b.name ? -1 : 1));
  const queued = Number(value(3));
  const fence = state.fence ? Number(state.fence) : undefined;
  switch (kind) {
    case 'event':
      return { kind, name, holders: [], waiters: 0, set: state.set === '1' };
    case 'barrier':
      return { kind, name, holders: [], waiters: Number(value(6)), parties: Number(state.parties), phase: state.phase ?? 'filling' };
    case 'semaphore':
      return {
        kind: state.kind === 'bounded' ? 'bounded-semaphore' : 'semaphore',
        name,
        value: Number(state.value ?? 0) + Number(state.extra ?? 0),
        holders,
        waiters: queued,
        fencingToken: fence,
      };
    default: {
      const own = kind === 'condition' ? conds.find((c) => c.name === name) : undefined;
      return { kind, name, value: 1, holders, waiters: queued + (own?.waiters ?? 0), fencingToken: fence, ...(conds.length ? { conditions: conds } : {}) };
    }
  }
}

function parseInfo(json: string | undefined): { host?: string; pid?: number } {
  try {
    const o = JSON.parse(json ?? '{}') as { host?: unknown; pid?: unknown };
    return { ...(typeof o.host === 'string' ? { host: o.host } : {}), ...(typeof o.pid === 'number' ? { pid: o.pid } : {}) };
  } catch {
    return {};
  }
}
