import { randomBytes } from 'node:crypto';
import { checkAccess } from './access-check.js';
import { ConfigError } from '../errors.js';
import { toAsyncqError, type RedisClient } from './connection.js';
import type { QueueConfig } from './queue-config.js';
import { layoutKey } from './queue-keys.js';
import { QueueSignals } from './queue-signals.js';
import { QueueScripts } from './scripts.js';
import { LossWatch } from './loss-watch.js';
import { checkMemoryPolicy } from './memory-policy.js';
import { retryUnsent } from './redis-errors.js';
import { RedisClock, RequestLog, type RequestArgs } from './request-log.js';
import { SessionBase } from './session-base.js';

/**
 * A queue handle's connection to Redis (see {@link SessionBase}): the command client with asyncq's
 * scripts, and a subscriber for the queue's signals once the handle first waits or consumes.
 */
export class RedisSession extends SessionBase<QueueConfig, QueueSignals> {
  private readonly epochBase = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  private epochs = 0;
  /** Per partition: the handle's request log there (safe retries), with Redis's clock. */
  readonly requests: readonly RequestLog[];
  /** What this handle has seen of each partition's ledger: how it tells Redis going back in time. */
  readonly losses: LossWatch;

  private constructor(
    config: QueueConfig,
    client: RedisClient,
    readonly scripts: QueueScripts,
  ) {
    super(config, client, connectionName(config));
    this.requests = config.partitions.map(() => new RequestLog(config.handleId, new RedisClock(), config.commandTimeout));
    this.losses = new LossWatch(config.partitions.length);
  }

  /**
   * A reply showed partition `p`'s totals: when Redis went back on tasks put (a failover to a
   * replica that had not caught up), the loss is recorded in Redis for every joiner to hear of.
   */
  noteTotals(p: number, added: number, lostTotal: number): void {
    const rolledBack = this.losses.observe(p, added, lostTotal);
    if (rolledBack > 0) void this.scripts.count(this.config.partitions[p]!, 0, { rollback: rolledBack }).catch(() => {});
  }

  /**
   * Connects, failing with `RedisUnreachable` or `RedisRefused` within the connect timeout. It
   * first checks that the user's ACL allows what a queue handle sends, or for a `reader` (admin
   * reads, which write nothing) what reads send, so a read-only user can still look.
   */
  static async open(config: QueueConfig, opts: { reader?: boolean } = {}): Promise<RedisSession> {
    const client = await SessionBase.connect(config, connectionName(config));
    const scripts = new QueueScripts(client, config.target, config.name);
    const session = new RedisSession(config, client, scripts);
    try {
      // Before the first write: a command the user's ACL refuses is named now, with nothing changed.
      // A cluster failing over refuses them unrun: tried again, within the command timeout.
      await retryUnsent(async () => {
        await checkAccess(scripts, config.target, config.partitions[0]!, opts.reader ? 'reader' : 'queue');
        await checkLayout(client, config);
      }, config.commandTimeout);
      await session.readClock();
      await checkMemoryPolicy(client, config.target, config.strictRedis);
    } catch (e) {
      if (client !== config.target.shared) client.disconnect();
      throw toAsyncqError(e, config.target) ?? e;
    }
    return session;
  }

  /**
   * Runs one script call that changes something on `partition` under a fresh request id, so that a
   * copy of it (ioredis re-sends a command whose reply was lost) answers from the first run's record.
   */
  async request<R>(partition: number, kind: string, call: (req: RequestArgs) => Promise<R>): Promise<R> {
    const log = this.requests[partition]!;
    const req = log.begin(kind);
    try {
      const r = await call(req);
      log.answeredFor(req);
      return r;
    } catch (e) {
      log.failedFor(req);
      throw e;
    }
  }

  /** Reads Redis's clock once, so request deadlines are set in its time from the first call. */
  private async readClock(): Promise<void> {
    // Best effort: a cluster node down mid-failover may take the keyless TIME; the first consume
    // reply sets the clock then (until then deadlines use the local clock, with a second of slack).
    const reading = await this.client.time().catch(() => undefined);
    if (!reading) return;
    const [secs, micros] = reading;
    const ms = Number(secs) * 1000 + Math.floor(Number(micros) / 1000);
    for (const r of this.requests) r.clock.observe(ms);
  }

  /**
   * What a put records as the queue's epoch if it has none (its first put ever, or the first after
   * Redis lost the queue): see `count-10.lua`. Fresh for every call, so a handle that made the first
   * put and puts again after a loss records a different epoch, and joiners see the loss.
   */
  nextEpoch(): string {
    return `${this.epochBase}.${(this.epochs++).toString(36)}`;
  }

  protected async listen(subscriber: RedisClient): Promise<QueueSignals> {
    const signals = new QueueSignals(subscriber, this.config.partitions.map((k) => k.channel), this.sharded, this.config.commandTimeout);
    await signals.start();
    return signals;
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
  let recorded = await client.get(key);
  // Written only when missing, so a handle opens on a full Redis once the layout is recorded.
  if (recorded === null && want > 1) {
    await client.set(key, String(want), 'NX');
    recorded = await client.get(key);
  }
  const have = recorded === null ? 1 : Number(recorded);
  if (have !== want) {
    throw new ConfigError(`queue "${config.name}" has ${have} partition${have === 1 ? '' : 's'} in Redis, but this handle was opened with partitions: ${want}; use ${have}`);
  }
}
