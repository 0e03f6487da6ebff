import { followSlotMigrations, messageEvent, publishOn, subscribeTo } from './cluster-room.js';
import type { RedisClient } from './connection.js';
import { retryUnsent } from './redis-errors.js';
import type { QueueKeys } from './queue-keys.js';

/**
 * Messages on a queue's channels. Lua scripts publish most of them, and only while some handle
 * announced it waits for them (a `want-*` flag key), so a queue nobody waits on pays nothing:
 * - `task`: ready tasks appeared (or a delayed one with a new due time) while a consumer idled;
 * - `room`: a consumer took tasks while a producer waited for room;
 * - `drained`: nothing is unfinished any more, while a joiner waited;
 * - `done:<id>`: task id finished, while a result waiter waited (older processes);
 * - `fin:<json>`: tasks finished, while a result waiter waited: a JSON array of [id] or [id, result];
 * - `cancel:<json>`: a running task was cancelled: a JSON array of id, reason and who;
 * - `shutdown`, `reopen`, `scale`, `resume`: state changes every handle must see.
 * `reconnected` is local: the subscription was re-established and messages may have been missed.
 */
export type Signal = 'task' | 'room' | 'drained' | `done:${string}` | `fin:${string}` | `cancel:${string}` | 'shutdown' | 'reopen' | 'scale' | 'resume' | 'reconnected';

/**
 * One handle's subscription to the channels of its queue (one per partition). Waiting is driven by
 * these messages; every waiter also re-checks on a slow timer, so a message lost to a reconnect
 * only delays it (and the `reconnected` signal makes them re-check at once).
 */
export class QueueSignals {
  private readonly listeners = new Set<(s: Signal, partition: number) => void>();
  private readonly partitionOf: Map<string, number>;
  private subscribed: Promise<void> | undefined;

  constructor(
    private readonly subscriber: RedisClient,
    channels: readonly string[],
    /** Sharded pub/sub (SSUBSCRIBE) on a cluster, so each channel lives on its slot's master. */
    private readonly sharded: boolean,
    /** How long a subscribe that a failover refuses is tried again. */
    private readonly rideOutMs = 20_000,
  ) {
    this.partitionOf = new Map(channels.map((c, i) => [c, i]));
    const onMessage = (ch: string, message: string): void => {
      const partition = this.partitionOf.get(ch);
      if (partition !== undefined) this.emit(message as Signal, partition);
    };
    subscriber.on(messageEvent(sharded), onMessage);
    let first = true;
    subscriber.on('ready', () => {
      if (first) first = false;
      else this.emit('reconnected', -1);
    });
    if (sharded) followSlotMigrations(subscriber, () => this.emit('reconnected', -1));
  }

  private emit(s: Signal, partition: number): void {
    for (const l of [...this.listeners]) l(s, partition);
  }

  /** Subscribes once; resolves when messages will be seen. */
  start(): Promise<void> {
    const channels = [...this.partitionOf.keys()];
    this.subscribed ??= retryUnsent(() => subscribeTo(this.subscriber, channels, this.sharded), this.rideOutMs);
    return this.subscribed;
  }

  /** Resolves with the first of `signals` to arrive (from any partition), or `'timeout'` after `ms`. */
  next(signals: readonly Signal[], ms: number, abort?: AbortSignal): Promise<Signal | 'timeout'> {
    return new Promise((resolve) => {
      const done = (s: Signal | 'timeout'): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        abort?.removeEventListener('abort', onAbort);
        resolve(s);
      };
      const listener = (s: Signal): void => {
        if (signals.includes(s) || s === 'reconnected') done(s);
      };
      const onAbort = (): void => done('timeout');
      const timer = setTimeout(() => done('timeout'), ms);
      this.listeners.add(listener);
      abort?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Calls `fn` for every signal until the returned function is called. */
  on(fn: (s: Signal, partition: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/** Publishes `signal` on a queue's channel: the only place in TypeScript that publishes. */
export async function publishSignal(client: RedisClient, keys: QueueKeys, signal: Signal, sharded: boolean): Promise<void> {
  await publishOn(client, keys.channel, signal, sharded);
}

/**
 * The slow safety re-check schedule of a waiter: quick at first (a wake-up can race the
 * announcement that asked for it), then every `ceiling` ms.
 */
export function recheckDelay(round: number, ceiling = 2000): number {
  return Math.min(50 * 2 ** round, ceiling);
}
