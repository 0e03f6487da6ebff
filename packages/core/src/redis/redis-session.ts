import { randomBytes } from 'node:crypto';
import { lazily } from '../lazy.js';
import { checkAccess } from './access-check.js';
import { ConfigError } from '../errors.js';
import { connectWithin, openClient, type RedisClient } from './connection.js';
import type { QueueConfig } from './queue-config.js';
import { layoutKey } from './queue-keys.js';
import { QueueSignals } from './queue-signals.js';
import { QueueScripts } from './scripts.js';

/**
 * A queue handle's connection to Redis, built whole once connected: the command client with
 * asyncq's scripts, and (opened only when the handle first waits or consumes) a subscriber for the
 * queue's signals. A client the caller gave is shared and never closed.
 */
export class RedisSession {
  private readonly epochBase = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  private epochs = 0;
  private subscriber?: RedisClient;
  private closed = false;

  private constructor(
    readonly config: QueueConfig,
    readonly client: RedisClient,
    readonly scripts: QueueScripts,
  ) {}

  /**
   * Connects, failing with `RedisUnreachable` or `RedisRefused` within the connect timeout. It
   * first checks that the user's ACL allows what a queue handle sends, or for a `reader` (admin
   * reads, which write nothing) what reads send, so a read-only user can still look.
   */
  static async open(config: QueueConfig, opts: { reader?: boolean } = {}): Promise<RedisSession> {
    const client = config.target.shared ?? openClient(config.target, 'command', connectionName(config), config.commandTimeout);
    await connectWithin(client, config.target, config.connectTimeout);
    const scripts = new QueueScripts(client, config.target, config.name);
    try {
      // Before the first write: a command the user's ACL refuses is named now, with nothing changed.
      await checkAccess(scripts, config.target, config.partitions[0]!, opts.reader ? 'reader' : 'queue');
      await checkLayout(client, config);
    } catch (e) {
      if (client !== config.target.shared) client.disconnect();
      throw e;
    }
    return new RedisSession(config, client, scripts);
  }

  /**
   * What a put records as the queue's epoch if it has none (its first put ever, or the first after
   * Redis lost the queue): see `count-10.lua`. Fresh for every call, so a handle that made the first
   * put and puts again after a loss records a different epoch, and joiners see the loss.
   */
  nextEpoch(): string {
    return `${this.epochBase}.${(this.epochs++).toString(36)}`;
  }

  /** True on a Redis Cluster: signals use sharded pub/sub there. */
  get sharded(): boolean {
    return this.config.target.kind === 'cluster';
  }

  /** The queue's signals, subscribed on first use. */
  readonly signals = lazily(async () => {
    const subscriber = openClient(this.config.target, 'subscriber', connectionName(this.config), this.config.commandTimeout);
    this.subscriber = subscriber;
    // The session is up: a subscriber that meets a blip waits it out, within the command timeout.
    await connectWithin(subscriber, this.config.target, this.config.commandTimeout, true);
    const signals = new QueueSignals(subscriber, this.config.partitions.map((k) => k.channel), this.sharded);
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

/** Every connection of a handle carries its queue's name, so operators (and tests) can find them. */
function connectionName(config: QueueConfig): string {
  return `asyncq:${config.name}`;
}

/**
 * Every handle of a queue must agree on its partition count: a partitioned queue records it, and
 * a handle opened with another count is refused with the count to use.
 */
async function checkLayout(client: RedisClient, config: QueueConfig): Promise<void> {
  const key = layoutKey(config.prefix, config.name);
  const want = config.partitions.length;
  if (want > 1) await client.set(key, String(want), 'NX');
  const recorded = await client.get(key);
  const have = recorded === null ? 1 : Number(recorded);
  if (have !== want) {
    throw new ConfigError(`queue "${config.name}" has ${have} partition${have === 1 ? '' : 's'} in Redis, but this handle was opened with partitions: ${want}; use ${have}`);
  }
}
