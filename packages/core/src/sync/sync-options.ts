import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError } from '../errors.js';
import { checkInt, checkQueueName, safeJson } from '../options.js';
import { resolveConnection, type RedisTarget } from '../redis/connection.js';
import { syncKeys, type SyncKeys, type SyncKind } from '../redis/sync-keys.js';
import type { ConnectionOption } from '../types.js';

/** Options every coordination primitive takes. */
export interface PrimitiveOptions {
  /** Where Redis is: a URL, ioredis options (Sentinel included), `{ cluster: [...] }` or an ioredis client (shared, never closed). @defaultValue REDIS_URL, else redis://127.0.0.1:6379 */
  connection?: ConnectionOption;
  /** Redis key prefix, shared with the queues. @defaultValue 'asyncq' */
  prefix?: string;
  /**
   * ms a hold (or a wait) outlives its process: renewed every third of it while the process
   * lives; when the process dies, its lock or permits come back after this. @defaultValue 7000
   */
  lease?: number;
  /** ms to reach Redis before failing with `RedisUnreachable`. @defaultValue 5000 */
  connectTimeout?: number;
  /** ms a command may wait through a reconnect before it fails. @defaultValue 20000 */
  commandTimeout?: number;
}

/** Options of a `Semaphore` or `BoundedSemaphore`. */
export interface SemaphoreOptions extends PrimitiveOptions {
  /** Permits it starts with (0: a cross-process signal that `release()` opens). @defaultValue 1 */
  value?: number;
}

/** Options of a `Barrier`. */
export interface BarrierOptions extends PrimitiveOptions {
  /** How many parties each round waits for: a whole number >= 1. */
  parties: number;
}

/** What the argument of `run(fn)` gets. */
export interface HoldContext {
  /** The fencing token of this hold: larger than every token given before, by anyone. Pass it to the resource you protect. */
  token: number;
  /** Aborted when the hold is lost (its lease ran out while the process stalled) or the handle closes. */
  signal: AbortSignal;
}

/** A primitive's options, checked once at construction: every part reads its settings here. */
export interface SyncConfig {
  readonly kind: SyncKind;
  /** What messages call it: `lock`, `semaphore`, `BoundedSemaphore`, ... */
  readonly label: string;
  readonly name: string;
  readonly keys: SyncKeys;
  readonly lease: number;
  readonly connectTimeout: number;
  readonly commandTimeout: number;
  readonly target: RedisTarget;
  /** This handle's session: the prefix of its hold and wait ids, and what its lease is kept under. */
  readonly session: string;
  /** JSON `{ host, pid }`: who holds, for `asyncq locks`. */
  readonly info: string;
}

/** Checks a primitive's name and options, throwing a one-line {@link ConfigError} naming what is wrong. */
export function resolveSyncConfig(kind: SyncKind, label: string, name: string, opts: PrimitiveOptions | undefined): SyncConfig {
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new ConfigError(`${label} options must be an object, got ${safeJson(opts)}`);
  checkPrimitiveName(label, name);
  const o = opts ?? {};
  const prefix = o.prefix ?? 'asyncq';
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_.-]{1,50}$/.test(prefix)) {
    throw new ConfigError(`prefix must be 1-50 letters, digits, '_', '.' or '-', got ${safeJson(prefix)}`);
  }
  return {
    kind,
    label,
    name,
    keys: syncKeys(prefix, kind, name),
    lease: checkInt('lease', o.lease, 7000, 100),
    connectTimeout: checkInt('connectTimeout', o.connectTimeout, 5000, 1),
    commandTimeout: checkInt('commandTimeout', o.commandTimeout, 20_000, 100),
    target: resolveConnection(o.connection),
    session: randomBytes(6).toString('hex'),
    info: JSON.stringify({ host: hostname(), pid: process.pid }),
  };
}

/** Throws unless `name` can name a primitive: the queue-name rules (it becomes part of a hash tag). */
export function checkPrimitiveName(label: string, name: unknown): string {
  try {
    return checkQueueName(name);
  } catch (e) {
    throw new ConfigError((e as Error).message.replace(/^invalid queue name/, `invalid ${label} name`).replace('e.g. "thumbnails"', 'e.g. "token-refresh"'));
  }
}
