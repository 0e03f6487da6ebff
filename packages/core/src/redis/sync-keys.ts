import { escapeGlob } from './queue-keys.js';

/** The kinds of coordination primitive; a `BoundedSemaphore` is a `semaphore` in Redis. */
export type SyncKind = 'lock' | 'semaphore' | 'event' | 'condition' | 'barrier';

/** The word each kind puts in its hash tag: `{lock:name}`, `{sem:name}`, ... */
const TAG_WORD: Record<SyncKind, string> = { lock: 'lock', semaphore: 'sem', event: 'event', condition: 'cond', barrier: 'barrier' };
const KIND_OF_WORD = new Map(Object.entries(TAG_WORD).map(([kind, word]) => [word, kind as SyncKind]));

/**
 * Every Redis key and the channel of one coordination primitive, in one place (the queues' keys are
 * built in queue-keys.ts). Each primitive lives under one hash tag, `{<kind>:<name>}`, so its keys
 * share a Redis Cluster slot and its scripts run unchanged on a cluster. A queue's tag can never
 * contain ':' (queue names forbid it), so no primitive's key can be a queue's.
 */
export interface SyncKeys {
  readonly kind: SyncKind;
  readonly name: string;
  /** The tag inside the braces, e.g. `lock:name`. */
  readonly tag: string;
  /** What every key of the primitive starts with: `prefix:{tag}:`. */
  readonly base: string;
  /** HASH: the primitive's state (kind, value, fencing counter, phase, set flag...). Its presence is what makes it exist. */
  readonly state: string;
  /** HASH: hold id -> "<fencing token> <since ms>" (Lock, Semaphore). */
  readonly holders: string;
  /** ZSET: waiting id -> arrival number, served lowest first (Lock, Semaphore). */
  readonly queue: string;
  /** ZSET: session id -> lease expiry in ms (Redis's clock). */
  readonly leases: string;
  /** HASH: session id -> JSON `{ host, pid }`, for `asyncq locks`. */
  readonly sessions: string;
  /** ZSET: party id -> its index, for the parties at a Barrier. */
  readonly members: string;
  /** Pub/sub channel: grants, a Barrier's phases, an Event's sets. */
  readonly channel: string;
  /** Prefix of the STRING keys (a minute each) remembering the answer of a step that must not happen twice. */
  readonly done: string;
  /** ZSET: waiting id -> arrival number, for a Condition named `name` over this lock. */
  conditionWaiters(name: string): string;
}

/** The keys of primitive `name` of `kind` under `prefix`. */
export function syncKeys(prefix: string, kind: SyncKind, name: string): SyncKeys {
  const tag = `${TAG_WORD[kind]}:${name}`;
  const base = `${prefix}:{${tag}}:`;
  return {
    kind,
    name,
    tag,
    base,
    state: `${base}sync`,
    holders: `${base}holders`,
    queue: `${base}queue`,
    leases: `${base}leases`,
    sessions: `${base}sessions`,
    members: `${base}members`,
    channel: `${base}signals`,
    done: `${base}done:`,
    conditionWaiters: (condition) => `${base}cond:${condition}`,
  };
}

/** SCAN MATCH pattern of every primitive's state key under `prefix`. */
export function syncStatePattern(prefix: string): string {
  return `${escapeGlob(prefix)}:{*:*}:sync`;
}

/** SCAN MATCH pattern of the Condition waiter lists kept under a lock's tag (`prefix:{lock:x}:cond:<name>`). */
export function conditionPattern(prefix: string): string {
  return `${escapeGlob(prefix)}:{*:*}:cond:*`;
}

/** The kind and name of a key matched by {@link syncStatePattern} or {@link conditionPattern}, or undefined. */
export function parseSyncKey(prefix: string, key: string): { kind: SyncKind; name: string; condition?: string } | undefined {
  const head = `${prefix}:{`;
  if (!key.startsWith(head)) return undefined;
  const close = key.indexOf('}', head.length);
  if (close < 0) return undefined;
  const tag = key.slice(head.length, close);
  const colon = tag.indexOf(':');
  const kind = KIND_OF_WORD.get(tag.slice(0, colon));
  const name = tag.slice(colon + 1);
  if (colon < 0 || !kind || name.length === 0 || /[:{}]/.test(name)) return undefined;
  const rest = key.slice(close + 1);
  if (rest === ':sync') return { kind, name };
  const cond = /^:cond:([^:{}]+)$/.exec(rest);
  return cond ? { kind, name, condition: cond[1]! } : undefined;
}
