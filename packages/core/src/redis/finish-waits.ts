import { abortableWait } from '../abortable-wait.js';
import { QueueClosed } from '../errors.js';
import { QueueDataLost } from '../server-errors.js';
import type { WaitOptions } from '../types.js';
import { WaiterList } from '../waiters.js';
import { isTransient } from './connection.js';
import type { QueueConfig } from './queue-config.js';
import { recheckDelay } from './queue-signals.js';
import type { RedisSession } from './redis-session.js';
import type { CountReply } from './scripts.js';

/**
 * The wait for all work to finish: `join`. It counts in Redis, announces itself so that consumers
 * signal it (`drained`), and re-checks slowly in case a signal was lost. It rides out a Redis
 * outage, and reports a Redis that came back without the queue's data (its epoch changed) instead
 * of resolving as if the lost tasks had finished. (Results of single tasks: `result-watch.ts`.)
 */
export class FinishWaits {
  private readonly joiners = new WaiterList<void>();
  private joinLoop = false;
  private closed = false;

  constructor(
    private readonly config: QueueConfig,
    private readonly session: () => Promise<RedisSession>,
  ) {}

  async join(opts?: WaitOptions): Promise<void> {
    this.checkOpen();
    const s = await this.session();
    await s.signals();
    return abortableWait<void>('join', opts, (waiter) => {
      const off = this.joiners.push(waiter);
      void this.runJoin(s);
      return off;
    });
  }

  close(): void {
    this.closed = true;
    const err = new QueueClosed(this.config.name);
    this.joiners.rejectAll(err);
  }

  /**
   * Counts unfinished tasks (announcing the joiners) until there are none, waiting for "drained" in
   * between. On a partitioned queue, "none" must be seen twice in a row with no task added to any
   * partition in between, which proves a moment when every partition was empty at once.
   */
  private async runJoin(s: RedisSession): Promise<void> {
    if (this.joinLoop) return;
    this.joinLoop = true;
    const signals = await s.signals();
    const epochs: (string | undefined)[] = this.config.partitions.map(() => undefined);
    const missing = new MissingTasks();
    let previous: number[] | undefined;
    let unfinished = 0;
    let round = 0;
    try {
      while (this.joiners.length > 0 && !this.closed) {
        let counts: CountReply[];
        try {
          counts = await Promise.all(this.config.partitions.map((k) => s.scripts.count(k, 3 * this.config.stalledInterval)));
        } catch (e) {
          if (!isTransient(e)) throw e;
          // Redis is away: joiners keep waiting through the blip.
          await signals.next(['drained'], recheckDelay(round++, this.config.stalledInterval));
          continue;
        }
        counts.forEach((c, p) => {
          const seen = epochs[p];
          if (seen === undefined) epochs[p] = c.epoch;
          else if (seen !== '' && c.epoch !== seen) throw new QueueDataLost(this.config.name, { unfinished, partition: p });
        });
        await this.checkLosses(s, counts, missing);
        const left = counts.map(unfinishedOf);
        unfinished = left.reduce((a, b) => a + b, 0);
        if (missing.confirming()) {
          // Tasks missing from every list: a second look a moment later tells a loss from an
          // operator's change caught half way.
          await signals.next([], MissingTasks.CONFIRM_MS);
          continue;
        }
        if (unfinished === 0) {
          const added = counts.map((c) => c.added);
          if (counts.length === 1 || (previous && added.every((a, i) => a === previous![i]))) break;
          previous = added;
          continue;
        }
        previous = undefined;
        await signals.next(['drained'], recheckDelay(round++, this.config.stalledInterval));
      }
      this.joiners.drain((w) => w.resolve());
    } catch (e) {
      this.joiners.rejectAll(e);
    } finally {
      this.joinLoop = false;
    }
  }

  /**
   * Throws {@link QueueDataLost} when Redis lost tasks of a partition: it went back in time (its
   * total of tasks put fell below what this handle saw), a loss was recorded since this handle
   * first looked, or tasks the ledger counts as unfinished are in no list, twice in a row (then
   * they are written off, so the next joiner is not told again).
   */
  private async checkLosses(s: RedisSession, counts: readonly CountReply[], missing: MissingTasks): Promise<void> {
    const name = this.config.name;
    for (const [p, c] of counts.entries()) {
      const keys = this.config.partitions[p]!;
      const rolledBack = s.losses.observe(p, c.added, c.lostTotal);
      if (rolledBack > 0) {
        const booked = await s.scripts.count(keys, 0, { rollback: rolledBack }).catch(() => undefined);
        s.losses.told(p, booked?.lostTotal ?? c.lostTotal + rolledBack);
        throw new QueueDataLost(name, { partition: p, missing: rolledBack });
      }
      const since = s.losses.lostSince(p, c.lostTotal);
      if (since > 0) {
        s.losses.told(p, c.lostTotal);
        throw new QueueDataLost(name, { partition: p, missing: since });
      }
      const confirmed = missing.seen(p, c.missing);
      if (confirmed > 0) {
        const booked = await s.scripts.count(keys, 0, { missing: confirmed }).catch(() => undefined);
        s.losses.told(p, booked?.lostTotal ?? c.lostTotal + confirmed);
        throw new QueueDataLost(name, { partition: p, missing: confirmed });
      }
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new QueueClosed(this.config.name);
  }
}

/** What join waits for in one partition. */
export function unfinishedOf(c: CountReply): number {
  return c.wait + c.paused + c.prioritized + c.delayed + c.active + c.waitingChildren + c.stalled;
}

/** Tasks missing from every list, per partition: a loss once seen twice, a confirmation apart. */
class MissingTasks {
  static readonly CONFIRM_MS = 1000;
  private readonly first = new Map<number, { at: number; n: number }>();

  /** Records what a count showed; resolves to how many are missing for sure (0 while unconfirmed). */
  seen(partition: number, missing: number): number {
    if (missing <= 0) {
      this.first.delete(partition);
      return 0;
    }
    const before = this.first.get(partition);
    if (!before) {
      this.first.set(partition, { at: Date.now(), n: missing });
      return 0;
    }
    return Date.now() - before.at >= MissingTasks.CONFIRM_MS ? Math.min(before.n, missing) : 0;
  }

  /** Some partition has tasks missing that are not confirmed yet. */
  confirming(): boolean {
    return this.first.size > 0;
  }
}
