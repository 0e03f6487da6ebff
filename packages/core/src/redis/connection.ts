import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { ConfigError } from '../errors.js';
import { RedisRefused, RedisUnreachable } from '../server-errors.js';
import { errorDetail, toAsyncqError } from './redis-errors.js';
import type { ConnectionOption } from '../types.js';
import { fromUrl } from './connection-url.js';

export { redactUrl } from './connection-url.js';

/** A client asyncq talks to: one Redis (or a Sentinel-managed master), or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** Where a handle's connections go, resolved once from the `connection` option. */
export interface RedisTarget {
  readonly kind: 'standalone' | 'sentinel' | 'cluster';
  /** Options for one server's connections (standalone, Sentinel, and each node of a cluster). */
  readonly options: RedisOptions;
  /** For a cluster: its seed nodes and cluster options. */
  readonly cluster?: { nodes: (ClusterNode | string)[]; options: ClusterOptions };
  /** A client the caller passed in: shared, never closed by asyncq. */
  readonly shared?: RedisClient;
  /** Where it is, for messages: host:port, a Sentinel group or cluster nodes; never a password. */
  readonly describe: string;
}

export { isTransient, isUnsent, toAsyncqError } from './redis-errors.js';

const DEFAULT_URL = 'redis://127.0.0.1:6379';

/**
 * Resolves the `connection` option: an ioredis Redis or Cluster instance, cluster nodes, ioredis
 * options (Sentinel included), a URL (with more options), else `REDIS_URL`, else localhost.
 */
export function resolveConnection(opt: ConnectionOption | undefined): RedisTarget {
  if (isClient(opt)) return fromClient(opt);
  if (opt === undefined || typeof opt === 'string') return fromUrl(opt || process.env.REDIS_URL || DEFAULT_URL, {});
  if (typeof opt !== 'object' || opt === null) {
    throw new ConfigError(`connection must be a redis:// URL, ioredis options, { cluster: [...] } or an ioredis client, got ${typeof opt}`);
  }
  if ('cluster' in opt) {
    const nodes = opt.cluster;
    if (!Array.isArray(nodes) || nodes.length === 0) {
      throw new ConfigError('connection.cluster must list at least one node, e.g. { cluster: [{ host: "10.0.0.1", port: 6379 }] }');
    }
    const options = { ...(opt.clusterOptions?.redisOptions ?? {}) };
    return { kind: 'cluster', options, cluster: { nodes, options: opt.clusterOptions ?? {} }, describe: `cluster ${nodes.map(nodeName).join(',')}` };
  }
  if ('url' in opt && typeof opt.url === 'string') {
    const { url, ...rest } = opt;
    return fromUrl(url, rest);
  }
  const o = opt as RedisOptions;
  if (o.sentinels?.length) {
    return { kind: 'sentinel', options: { ...o }, describe: `sentinel group "${o.name ?? 'mymaster'}" via ${o.sentinels.map(nodeName).join(',')}` };
  }
  return { kind: 'standalone', options: { ...o }, describe: o.path ?? `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}` };
}

/** True for an ioredis Redis or Cluster instance, from this copy of ioredis or another. */
function isClient(opt: unknown): opt is RedisClient {
  if (opt instanceof Redis || opt instanceof Cluster) return true;
  const o = opt as Partial<Redis> | null;
  return typeof o === 'object' && o !== null && typeof o.duplicate === 'function' && typeof o.disconnect === 'function' && typeof o.connect === 'function';
}

function fromClient(client: RedisClient): RedisTarget {
  if ((client as Cluster).isCluster) {
    const cluster = client as Cluster;
    // ioredis keeps the seed nodes private; a subscriber of asyncq's own needs them.
    const nodes = (cluster as unknown as { startupNodes: (ClusterNode | string)[] }).startupNodes;
    return {
      kind: 'cluster',
      options: { ...(cluster.options.redisOptions ?? {}) },
      cluster: { nodes, options: { ...cluster.options } },
      shared: client,
      describe: `cluster ${nodes.map(nodeName).join(',')}`,
    };
  }
  const o = (client as Redis).options;
  if (o.sentinels?.length) {
    return { kind: 'sentinel', options: { ...o }, shared: client, describe: `sentinel group "${o.name}" via ${o.sentinels.map(nodeName).join(',')}` };
  }
  return { kind: 'standalone', options: { ...o }, shared: client, describe: o.path ?? `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}` };
}

function nodeName(n: ClusterNode | string | { host?: string; port?: number }): string {
  if (typeof n === 'string') return n;
  if (typeof n === 'number') return `127.0.0.1:${n}`;
  return `${n.host ?? '127.0.0.1'}:${n.port ?? 6379}`;
}

/**
 * Opens a client of asyncq's own. Commands wait through reconnects (a Redis that restarts, a
 * failover) for up to `commandTimeout` and then fail with a clear error, rather than failing in the
 * first half second of a reconnect or hanging for ever.
 */
export function openClient(target: RedisTarget, role: 'command' | 'subscriber', name: string, commandTimeout: number): RedisClient {
  const perServer: RedisOptions = {
    ...target.options,
    lazyConnect: true,
    connectionName: name,
    maxRetriesPerRequest: null,
    // Measured with pnpm bench: auto-pipelining holds each command for a tick; asyncq batches instead.
    enableAutoPipelining: false,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    ...(role === 'command' ? { commandTimeout } : {}),
  };
  if (target.cluster) {
    const client = new Cluster(target.cluster.nodes, {
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 300,
      retryDelayOnTryAgain: 100,
      // A slot left migrating answers TRYAGAIN for ever: give up on it within about two seconds, so
      // a put goes to another partition (and rides out a failover by retrying, see put-gate.ts) and
      // waits retry, rather than one call hanging for 20 s.
      maxRedirections: 16,
      slotsRefreshTimeout: 2000,
      ...target.cluster.options,
      lazyConnect: true,
      enableOfflineQueue: true,
      shardedSubscribers: role === 'subscriber',
      // A subscriber sends no keyed commands, so no MOVED tells it that a slot moved (and Redis
      // drops the subscriptions of a slot that migrates): it re-reads the slots now and then, and
      // whenever its session's command client learns of a move (see RedisSession.signals).
      ...(role === 'subscriber' ? { slotsRefreshInterval: 5000 } : {}),
      redisOptions: perServer,
      clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
    });
    client.on('error', () => {});
    return client;
  }
  const client = new Redis(perServer);
  // Connection errors are reported where they matter (connectWithin, a failed command); without a
  // listener ioredis would also print each one.
  client.on('error', () => {});
  return client;
}

/**
 * Connects `client` (or checks a shared one) and fails with {@link RedisUnreachable} after
 * `timeoutMs`, or with {@link RedisRefused} when Redis answers but refuses (a wrong password, a
 * database it does not have). A refused or lost connection to one server fails at once (a wrong
 * address is told within moments); a Sentinel group or a cluster, built to fail over, and a
 * `patient` connection of a session already running, are given until the timeout.
 */
export async function connectWithin(client: RedisClient, target: RedisTarget, timeoutMs: number, patient = false): Promise<void> {
  if (client.status === 'ready') return;
  const waitOut = patient || target.kind !== 'standalone';
  let timer: NodeJS.Timeout | undefined;
  let onError: ((e: Error) => void) | undefined;
  let last: unknown;
  const failure = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RedisUnreachable(target.describe, last ? `${errorDetail(last)}, for ${timeoutMs} ms` : `no answer within ${timeoutMs} ms`, last)),
      timeoutMs,
    );
    onError = (e: Error) => {
      last = e;
      const refused = toAsyncqError(e, target);
      if (refused instanceof RedisRefused || !waitOut) reject(refused ?? new RedisUnreachable(target.describe, errorDetail(e), e));
    };
    client.on('error', onError);
  });
  // 'ready' rather than connect()'s own promise, which gives up at the first failed attempt.
  const ready = new Promise<void>((resolve) => client.once('ready', () => resolve()));
  if (client.status === 'wait') client.connect().catch(() => {}); // failures arrive as 'error' events
  try {
    await Promise.race([ready, failure]);
  } catch (e) {
    if (client !== target.shared) client.disconnect();
    throw toAsyncqError(e, target) ?? new RedisUnreachable(target.describe, errorDetail(e), e);
  } finally {
    clearTimeout(timer);
    if (onError) client.off('error', onError);
    failure.catch(() => {});
  }
}

/**
 * A connected command client for `connection`, failing with {@link RedisUnreachable} within
 * `connectTimeout`. Pass it as the `connection` of many handles so they share one connection (it
 * is then the caller's to close); a client given in is checked and returned as it is.
 */
export async function connectRedis(
  connection?: ConnectionOption,
  opts: { connectTimeout?: number; commandTimeout?: number; name?: string } = {},
): Promise<RedisClient> {
  const target = resolveConnection(connection);
  const client = target.shared ?? openClient(target, 'command', opts.name ?? 'asyncq', opts.commandTimeout ?? 20_000);
  await connectWithin(client, target, opts.connectTimeout ?? 5000);
  return client;
}
