import { messageEvent, subscribeTo } from '../redis/cluster-room.js';
import type { RedisClient } from '../redis/connection.js';

/**
 * One handle's subscription to its primitive's channel. Lua scripts publish there: a grant
 * (`g <id> <token>`), a Barrier's new phase (`b <phase>`), an Event's set (`s <generation>`).
 * `reconnected` is local: the subscription was re-established and messages may have been missed,
 * so waiters re-check at once; they also re-check on a slow timer, so a lost message only delays.
 */
export class SyncSignals {
  private readonly listeners = new Set<(message: string) => void>();
  private subscribed: Promise<void> | undefined;

  constructor(
    private readonly subscriber: RedisClient,
    private readonly channel: string,
    /** Sharded pub/sub (SSUBSCRIBE) on a cluster, so the channel lives on its slot's master. */
    private readonly sharded: boolean,
  ) {
    subscriber.on(messageEvent(sharded), (ch: string, message: string) => {
      if (ch === channel) this.emit(message);
    });
    let first = true;
    subscriber.on('ready', () => {
      if (first) first = false;
      else this.emit('reconnected');
    });
  }

  private emit(message: string): void {
    for (const l of [...this.listeners]) l(message);
  }

  /** Subscribes once; resolves when messages will be seen. */
  start(): Promise<void> {
    this.subscribed ??= subscribeTo(this.subscriber, [this.channel], this.sharded);
    return this.subscribed;
  }

  /** Calls `fn` for every message (and `reconnected`) until the returned function is called. */
  on(fn: (message: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
