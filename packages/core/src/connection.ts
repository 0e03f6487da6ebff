import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError, RedisUnreachable } from './errors.js';
import type { ConnectionOption } from './types.js';

/** Where a handle's connections go, resolved once from the `connection` option. */
export interface RedisTarget {
  /** Options for the connections asyncq opens itself. */
  readonly options: RedisOptions;
  /** A client the caller passed in: shared, never closed by asyncq. */
  readonly shared?: Redis;
  /** `host:port` (or the socket path) for messages; never the password. */
  readonly describe: string;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';

/** Resolves the `connection` option: an ioredis instance, ioredis options, a URL, else `REDIS_URL`, else localhost. */
export function resolveConnection(opt: ConnectionOption | undefined): RedisTarget {
  if (opt instanceof Redis) {
    const o = opt.options;
    return { options: { ...o }, shared: opt, describe: o.path ?? `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}` };
  }
  if (opt === undefined || typeof opt === 'string') return fromUrl(opt ?? process.env.REDIS_URL ?? DEFAULT_URL);
  if (typeof opt !== 'object' || opt === null) {
    throw new ConfigError(`connection must be a redis:// URL, ioredis options or an ioredis client, got ${typeof opt}`);
  }
  return { options: { ...opt }, describe: opt.path ?? `${opt.host ?? '127.0.0.1'}:${opt.port ?? 6379}` };
}

function fromUrl(url: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`connection URL ${JSON.stringify(redact(url))} is not a URL; use redis://host:6379 or rediss://host:6380`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new ConfigError(`connection URL must start with redis:// or rediss://, got ${u.protocol}//`);
  }
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new ConfigError(`connection URL database must be a number, got ${u.pathname}`);
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = u.port ? Number(u.port) : 6379;
  const options: RedisOptions = {
    host,
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  return { options, describe: `${host}:${port}` };
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Opens a client of asyncq's own. Commands fail after a couple of reconnect
 * attempts instead of queueing forever, so a Redis that goes away surfaces as
 * an error, not a hang; blocking and subscriber clients wait (BullMQ needs
 * `maxRetriesPerRequest: null` there).
 */
export function openClient(target: RedisTarget, role: 'command' | 'blocking' | 'subscriber', name: string): Redis {
  const client = new Redis({
    ...target.options,
    lazyConnect: true,
    connectionName: name,
    maxRetriesPerRequest: role === 'command' ? 2 : null,
    // Measured with pnpm bench:core: auto-pipelining holds each command for a tick and cost
    // 10-25% throughput here, on the command client and on BullMQ's worker client alike.
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // Connection errors are reported where they matter (connectWithin, a failed command); without a
  // listener ioredis would also print each one.
  client.on('error', () => {});
  return client;
}

/**
 * Connects `client` (or checks a shared one) and fails with
 * {@link RedisUnreachable} on the first connection error or after
 * `timeoutMs`, whichever comes first.
 */
export async function connectWithin(client: Redis, target: RedisTarget, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  let timer: NodeJS.Timeout | undefined;
  let onError: ((e: Error) => void) | undefined;
  const failure = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnreachable(target.describe, `no answer within ${timeoutMs} ms`)), timeoutMs);
    onError = (e: Error) => reject(new RedisUnreachable(target.describe, errorDetail(e), e));
    client.on('error', onError);
  });
  const ready =
    client.status === 'wait'
      ? client.connect()
      : new Promise<void>((resolve) => client.once('ready', () => resolve()));
  try {
    await Promise.race([ready, failure]);
  } catch (e) {
    if (!target.shared || client !== target.shared) client.disconnect();
    throw e instanceof RedisUnreachable ? e : new RedisUnreachable(target.describe, errorDetail(e), e);
  } finally {
    clearTimeout(timer);
    if (onError) client.off('error', onError);
    failure.catch(() => {});
  }
}

function errorDetail(e: unknown): string {
  const err = e as { code?: string; message?: string };
  return err.code ?? err.message ?? String(e);
}

/**
 * A connected command client for `connection`, failing with {@link RedisUnreachable} within
 * `connectTimeout`. Pass it as the `connection` of many handles so they share one connection (it
 * is then the caller's to close); a client given in is checked and returned as it is.
 */
export async function connectRedis(connection?: ConnectionOption, opts: { connectTimeout?: number; name?: string } = {}): Promise<Redis> {
  const target = resolveConnection(connection);
  const client = target.shared ?? openClient(target, 'command', opts.name ?? 'asyncq');
  await connectWithin(client, target, opts.connectTimeout ?? 5000);
  return client;
}
