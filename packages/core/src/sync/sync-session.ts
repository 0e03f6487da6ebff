import { lazily } from '../lazy.js';
import { connectWithin, openClient, type RedisClient } from '../redis/connection.js';
import type { SyncConfig } from './sync-options.js';
import { SyncScripts } from './sync-scripts.js';
import { SyncSignals } from './sync-signals.js';

/**
 * A primitive handle's connection to Redis, built whole once connected: the command client with
 * the primitives' scripts, and (opened only when the handle first waits) a subscriber to the
 * primitive's channel. A client the caller gave is shared and never closed.
 */
export class SyncSession {
  private subscriber?: RedisClient;
  private closed = false;

  private constructor(
    readonly config: SyncConfig,
    readonly client: RedisClient,
    readonly scripts: SyncScripts,
  ) {}

  /** Connects, failing with `RedisUnreachable` or `RedisRefused` within the connect timeout. */
  static async open(config: SyncConfig): Promise<SyncSession> {
    const client = config.target.shared ?? openClient(config.target, 'command', connectionName(config), config.commandTimeout);
    await connectWithin(client, config.target, config.connectTimeout);
    return new SyncSession(config, client, new SyncScripts(client, config.target));
  }

  /** The primitive's channel, subscribed on first use. */
  readonly signals = lazily(async () => {
    const subscriber = openClient(this.config.target, 'subscriber', connectionName(this.config), this.config.commandTimeout);
    this.subscriber = subscriber;
    // The session is up: a subscriber that meets a blip waits it out, within the command timeout.
    await connectWithin(subscriber, this.config.target, this.config.commandTimeout, true);
    const signals = new SyncSignals(subscriber, this.config.keys.channel, this.config.target.kind === 'cluster');
    await signals.start();
    if (this.closed) subscriber.disconnect();
    return signals;
  });

  async close(): Promise<void> {
    this.closed = true;
    this.subscriber?.disconnect();
    if (this.client !== this.config.target.shared) await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** Every connection of a primitive carries its hash tag (`asyncq:lock:<name>`), so operators and tests can find them. */
export function connectionName(config: SyncConfig): string {
  return `asyncq:${config.keys.tag}`;
}
