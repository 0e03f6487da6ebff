import { LeaseLost, QueueClosed, TaskCancelled } from '../errors.js';
import { rateLimitedDelay } from '../rate-limited.js';
import { backoffDelay } from '../options.js';
import { describeError, encodeJson } from '../payload.js';
import type { Task } from '../async-queue.js';
import type { TaskFinisher, TaskHandle } from '../task-handle.js';
import type { ConsumeBatcher } from './consume-batcher.js';
import type { HeldJob, LeaseKeeper, RedisTask } from './lease-keeper.js';
import type { RedisSession } from './redis-session.js';

/**
 * Finishes the tasks a handle holds: done (acknowledged in batches through the partition's
 * batcher, which fetches the next tasks in the same call and offers them to the consumer), failed
 * attempts (retried per the task's attempts and backoff, or kept as dead letters), progress and
 * log lines. What Redis has is checked against the handle's lease, so a task whose lease was lost
 * is never finished twice.
 */
export class Completion<T> implements TaskFinisher<T> {
  private closed = false;

  constructor(
    private readonly session: RedisSession,
    private readonly leases: LeaseKeeper<T>,
    private readonly batchers: readonly ConsumeBatcher[],
  ) {}

  /**
   * taskDone(): the oldest held task, or the one named. A task cancelled meanwhile is finished
   * already (cancelled is a terminal state), so this resolves: there was no result to discard.
   */
  async taskDone(taskOrId?: Task<T> | string): Promise<void> {
    this.checkOpen();
    try {
      await this.complete(this.leases.held.pick(taskOrId), undefined);
    } catch (e) {
      if (!(e instanceof TaskCancelled)) throw e;
    }
  }

  async complete(task: TaskHandle<T>, result: unknown): Promise<void> {
    this.checkOpen();
    // Checked before the task leaves the held set, so a result that cannot be stored loses nothing.
    const json = result === undefined ? 'null' : encodeJson(result, 'result', this.session.config.maxResultBytes, 'maxResultBytes');
    const held = this.take(task);
    try {
      await this.batchers[held.ref.partition]!.ack(held.ref.jobId, json, held.attempt);
    } catch (e) {
      this.restore(held, e);
      throw e;
    }
  }

  async failAttempt(task: TaskHandle<T>, error: unknown): Promise<void> {
    this.checkOpen();
    const facts = describeError(error, this.session.config.maxErrorBytes);
    const held = this.take(task);
    const final = held.attempt >= held.ref.attempts || facts.name === 'UnrecoverableError';
    const limitedFor = rateLimitedDelay(error);
    try {
      await this.batchers[held.ref.partition]!.fail({
        id: held.ref.jobId,
        message: facts.message,
        stack: facts.stack ?? '',
        ...(limitedFor === undefined ? { retryIn: final ? -1 : backoffDelay(held.ref.backoff, held.attempt) } : { retryIn: limitedFor, rateLimited: true }),
      });
    } catch (e) {
      this.restore(held, e);
      throw e;
    }
  }

  async progress(task: TaskHandle<T>, value: number | object): Promise<void> {
    this.checkOpen();
    const json = encodeJson(value, 'progress', this.session.config.maxResultBytes, 'maxResultBytes');
    await this.update(this.pick(task), 'progress', json);
  }

  async log(task: TaskHandle<T>, line: string): Promise<void> {
    this.checkOpen();
    const text = String(line);
    await this.update(this.pick(task), 'log', text.length > 16_384 ? `${text.slice(0, 16_368)}... (truncated)` : text);
  }

  /** After close, finishing fails with QueueClosed: the task was handed back. */
  close(): void {
    this.closed = true;
  }

  private async update(held: RedisTask<T>, kind: 'progress' | 'log', value: string): Promise<void> {
    const keys = this.session.config.partitions[held.ref.partition]!;
    const ok = await this.session.request(held.ref.partition, 'u', (req) =>
      this.session.scripts.update(keys, req, held.ref.jobId, held.ref.lease, kind, value, this.session.config.keepLogs),
    );
    if (!ok) throw held.ref.cancelled ?? new LeaseLost(this.session.config.name, held.id);
  }

  /** Removes the task from the held set before any await, so two finishes never pick the same task. */
  private take(task: TaskHandle<T>): RedisTask<T> {
    const held = this.pick(task);
    this.leases.held.delete(held);
    return held;
  }

  private pick(task: { readonly id: string } | string | undefined): RedisTask<T> {
    const held = this.leases.held.pick(task) as TaskHandle<T, HeldJob>;
    if (held.ref.cancelled) {
      this.leases.held.delete(held);
      throw held.ref.cancelled;
    }
    if (held.ref.lost) {
      this.leases.held.delete(held);
      throw new LeaseLost(this.session.config.name, held.id);
    }
    return held;
  }

  /** A finish that failed for want of Redis leaves the task held (its lease renewed), so the caller may retry. */
  private restore(held: RedisTask<T>, e: unknown): void {
    if (!(e instanceof LeaseLost) && !(e instanceof TaskCancelled) && !this.closed) this.leases.held.add(held);
  }

  private checkOpen(): void {
    if (this.closed) throw new QueueClosed(this.session.config.name);
  }
}
