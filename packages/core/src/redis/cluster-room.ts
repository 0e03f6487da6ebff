import type { Cluster, Redis } from 'ioredis';
import type { RedisClient, RedisTarget } from './connection.js';

/**
 * What differs on a Redis Cluster, in one room: signals use sharded pub/sub (SPUBLISH/SSUBSCRIBE,
 * so a message lives on its slot's master and reaches only the nodes that serve it), subscribers
 * follow slots that move, and key scans visit every master. Every other part asks here instead of
 * testing the connection's kind (connection.ts only builds the client for the target).
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

/**
 * On a cluster, a subscriber re-reads the slots (and so subscribes again where its channels now
 * live) as soon as the command client learns that slots moved: the first MOVED after a reshard.
 */
export function followSlotMoves(client: RedisClient, subscriber: RedisClient): void {
  const c = client as Partial<Cluster>;
  const sub = subscriber as Partial<Cluster>;
  if (!c.isCluster || !sub.isCluster) return;
  const refresh = (): void => sub.refreshSlotsCache?.();
  c.on?.('refresh', refresh);
  subscriber.once('end', () => c.off?.('refresh', refresh));
}

/** When, after a slot migrated, a subscriber re-reads the slots (ms): gossip may lag the move. */
const REFRESH_AFTER_MIGRATION_MS = [0, 250, 1000, 3000];

/**
 * Redis drops a sharded subscription when its slot migrates, telling the subscriber with a
 * SUNSUBSCRIBE nobody asked for (ioredis reports it as a "command queue state error" of the node).
 * The subscriber then re-reads the slots a few times over the next seconds, so that it subscribes
 * again where the slot now lives as soon as the cluster says so, and `lookAgain` makes waiters look
 * again at once.
 */
export function followSlotMigrations(subscriber: RedisClient, lookAgain: () => void): void {
  const cluster = subscriber as Partial<Cluster>;
  if (!cluster.isCluster) return;
  let timers: NodeJS.Timeout[] = [];
  const migrated = (e: unknown): void => {
    if (!/sunsubscribe/i.test(String((e as Error)?.message ?? ''))) return;
    for (const t of timers) clearTimeout(t);
    timers = REFRESH_AFTER_MIGRATION_MS.map((ms) =>
      setTimeout(() => {
        cluster.refreshSlotsCache?.();
        lookAgain();
      }, ms).unref(),
    );
  };
  subscriber.on('nodeError', migrated);
  subscriber.once('end', () => timers.forEach(clearTimeout));
}
