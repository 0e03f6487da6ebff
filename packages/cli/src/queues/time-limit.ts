import { RedisUnreachable, type ConnectionOption } from '@asyncq/core';
import { isTransient, redactUrl } from '@asyncq/core/internal';

/**
 * `work`, or a {@link RedisUnreachable} once `ms` pass without an answer: a view or a scrape never
 * waits for a Redis that is stopped or restarting (its client queues commands until it is back).
 * When the time is up, I/O that already arrived is let in first (one turn of the event loop), so
 * a process that was busy itself for a moment does not blame Redis for an answer it did not read.
 */
export async function withinTime<T>(work: Promise<T>, ms: number, where: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => setImmediate(() => reject(new RedisUnreachable(where, `no answer within ${ms} ms`))), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
    work.catch(() => {}); // a late failure of abandoned work is not unhandled
  }
}

/** True for a failure that a later look can get past: Redis unreachable, restarting, or too slow. */
export function isOutage(e: unknown): boolean {
  return e instanceof RedisUnreachable || isTransient(e);
}

/** Where a connection goes, for messages: `host:port`, never a password. */
export function whereIs(connection: ConnectionOption): string {
  if (typeof connection === 'string') {
    try {
      return new URL(redactUrl(connection)).host || 'Redis';
    } catch {
      return 'Redis';
    }
  }
  const o = connection as { host?: string; port?: number; cluster?: unknown; sentinels?: unknown };
  if (o && typeof o === 'object' && 'cluster' in o) return 'the Redis cluster';
  if (o && typeof o === 'object' && 'sentinels' in o) return 'the Sentinel group';
  return `${o?.host ?? '127.0.0.1'}:${o?.port ?? 6379}`;
}
