import type { RedisClient } from '../redis/connection.js';
import { SessionBase } from '../redis/session-base.js';
import type { SyncConfig } from './sync-options.js';
import { SyncScripts } from './sync-scripts.js';
import { SyncSignals } from './sync-signals.js';

/**
 * A primitive handle's connection to Redis (see {@link SessionBase}): the command client with the
 * primitives' scripts, and a subscriber to the primitive's channel once the handle first waits.
 */
export class SyncSession extends SessionBase<SyncConfig, SyncSignals> {
  private constructor(
    config: SyncConfig,
    client: RedisClient,
    readonly scripts: SyncScripts,
  ) {
    super(config, client, connectionName(config), false);
  }

  /** Connects, failing with `RedisUnreachable` or `RedisRefused` within the connect timeout. */
  static async open(config: SyncConfig): Promise<SyncSession> {
    const client = await SessionBase.connect(config, connectionName(config));
    return new SyncSession(config, client, new SyncScripts(client, config.target));
  }

  protected async listen(subscriber: RedisClient): Promise<SyncSignals> {
    const signals = new SyncSignals(subscriber, this.config.keys.channel, this.sharded);
    await signals.start();
    return signals;
  }
}

/** Every connection of a primitive carries its hash tag (`asyncq:lock:<name>`), so operators and tests can find them. */
export function connectionName(config: SyncConfig): string {
  return `asyncq:${config.keys.tag}`;
}
