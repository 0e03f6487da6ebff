import { lazily } from '../lazy.js';
import { followSlotMoves, isSharded } from './cluster-room.js';
import { connectWithin, openClient, type RedisClient, type RedisTarget } from './connection.js';

/** What a session needs of its handle's settings to open connections. */
export interface SessionSettings {
  readonly target: RedisTarget;
  readonly connectTimeout: number;
  readonly commandTimeout: number;
}

/**
 * A handle's connections to Redis, built whole once connected: the command client, and (opened
 * only when the handle first waits) a subscriber that, on a cluster, follows the slot moves the
 * command client learns of. A client the caller gave is shared and never closed. Queue handles
 * (`RedisSession`) and coordination primitives (`SyncSession`) both build on it, so both get the
 * same connect, subscribe and close.
 */
export abstract class SessionBase<C extends SessionSettings, S> {
  private subscriber?: RedisClient;
  private closed = false;

  protected constructor(
    readonly config: C,
    readonly client: RedisClient,
    /** The name every connection of the handle carries, so operators and tests can find them. */
    private readonly connectionName: string,
    /**
     * On a cluster, whether the subscriber re-reads the slots when the command client learns of a
     * move. Queue handles do; primitives do not yet, until a test moves a primitive's slot. (It was
     * first blamed for lock waiters hanging after a master's SIGKILL; that was a release the failover
     * lost, which renew-5.lua now hands on.)
     */
    private readonly followsSlotMoves = true,
  ) {}

  /** The command client (the caller's, or a new one), connected within the connect timeout. */
  protected static async connect(config: SessionSettings, connectionName: string): Promise<RedisClient> {
    const client = config.target.shared ?? openClient(config.target, 'command', connectionName, config.commandTimeout);
    await connectWithin(client, config.target, config.connectTimeout);
    return client;
  }

  /** True on a Redis Cluster: signals use sharded pub/sub there. */
  get sharded(): boolean {
    return isSharded(this.config.target);
  }

  /** Builds the handle's signals on `subscriber` and subscribes them; called once, on first use. */
  protected abstract listen(subscriber: RedisClient): Promise<S>;

  /** The handle's signals, subscribed on first use. */
  readonly signals = lazily(async () => {
    const subscriber = openClient(this.config.target, 'subscriber', this.connectionName, this.config.commandTimeout);
    this.subscriber = subscriber;
    // The session is up: a subscriber that meets a blip waits it out, within the command timeout.
    await connectWithin(subscriber, this.config.target, this.config.commandTimeout, true);
    const signals = await this.listen(subscriber);
    if (this.followsSlotMoves) followSlotMoves(this.client, subscriber);
    if (this.closed) subscriber.disconnect();
    return signals;
  });

  async close(): Promise<void> {
    this.closed = true;
    this.subscriber?.disconnect();
    if (this.client !== this.config.target.shared) await this.client.quit().catch(() => this.client.disconnect());
  }
}
