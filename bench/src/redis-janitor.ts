import { Redis } from 'ioredis';

/**
 * Clears up after each run, so runs do not slow each other down. It knows no engine's key layout:
 * every run's queue has a unique random name, and every engine's keys contain the queue's name.
 */
export class RedisJanitor {
  private readonly redis: Redis;

  /** `owned`: the bench started this server, so it may simply empty it. */
  constructor(
    url: string,
    private readonly owned: boolean,
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
  }

  /** Removes every key of the run that used `queue` (on a private server: every key). */
  async clear(queue: string): Promise<void> {
    if (this.owned) {
      await this.redis.flushall();
      return;
    }
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `*${queue}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await this.redis.unlink(...keys);
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
