import type { Cluster, Redis } from 'ioredis';
import type { RedisClient, RedisTarget } from './connection.js';

/**
 * What differs on a Redis Cluster, in one room: signals use sharded pub/sub (SPUBLISH/SSUBSCRIBE,
 * so a message lives on its slot's master and reaches only the nodes that serve it), and key scans
 * visit every master. Every other part asks here instead of testing the connection's kind.
 */
export function isSharded(target: RedisTarget): boolean {
  return target.kind === 'cluster';
}

/** The publish command scripts use for the queue's signals. */
export function publishCommand(target: RedisTarget): 'PUBLISH' | 'SPUBLISH' {
  return isSharded(target) ? 'SPUBLISH' : 'PUBLISH';
}

/** The servers a key scan must visit: every master of a cluster, else the one server. */
export function mastersOf(client: RedisClient): RedisClient[] {
  const c = client as { isCluster?: boolean; nodes?: (role: 'master') => RedisClient[] };
  return c.isCluster && c.nodes ? c.nodes('master') : [client];
}

/** Publishes `message` on `channel`, sharded on a cluster. */
export async function publishOn(client: RedisClient, channel: string, message: string, sharded: boolean): Promise<void> {
  if (sharded) await (client as Cluster).spublish(channel, message);
  else await client.publish(channel, message);
}

/**
 * Subscribes to `channels`. Sharded subscriptions go one channel at a time: each partition's
 * channel lives in its own slot, possibly on its own master.
 */
export async function subscribeTo(subscriber: RedisClient, channels: readonly string[], sharded: boolean): Promise<void> {
  if (sharded) await Promise.all(channels.map((c) => (subscriber as Cluster).ssubscribe(c)));
  else await (subscriber as Redis).subscribe(...channels);
}

/** The event a subscriber emits for a message on its channels. */
export function messageEvent(sharded: boolean): 'smessage' | 'message' {
  return sharded ? 'smessage' : 'message';
}
