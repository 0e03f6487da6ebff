import { type WorkerInfo, type WorkerRegistry } from '@asyncq/core';
import { safeMessage } from '@asyncq/core/internal';
import { transient } from './safe-reads.js';
import type { RedisHealth } from './redis-health.js';
import type { WorkerLogger } from './worker-logger.js';

/**
 * Refreshes the worker's registry entry every `everyMs`, one beat at a time. A beat that fails for
 * want of Redis, or gets no answer for a while (commands wait through reconnects), tells
 * {@link RedisHealth}; a beat that gets through tells it Redis is back.
 */
export class Heartbeat {
  private timer?: NodeJS.Timeout;
  private overdue?: NodeJS.Timeout;
  private inFlight = false;
  private lastProblem = '';

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly info: () => WorkerInfo,
    private readonly everyMs: number,
    private readonly health: RedisHealth,
    private readonly log: WorkerLogger,
  ) {}

  /** An entry drops out of the registry after this long without a beat. */
  get ttlMs(): number {
    return 3 * this.everyMs;
  }

  /** The first beat, at start: it throws when Redis cannot be reached, so the worker fails at once. */
  first(): Promise<void> {
    return this.registry.beat(this.info(), this.ttlMs);
  }

  /** Beats every `everyMs` from now on. */
  start(): void {
    this.timer = setInterval(() => this.beat(), this.everyMs).unref();
  }

  /** No more beats. */
  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.overdue);
  }

  private beat(): void {
    if (this.inFlight) return;
    this.inFlight = true;
    const waitMs = Math.max(2000, this.everyMs);
    this.overdue = setTimeout(() => this.health.lost(`a heartbeat got no answer for ${waitMs} ms`), waitMs).unref();
    this.registry.beat(this.info(), this.ttlMs).then(
      () => {
        this.lastProblem = '';
        this.health.ok();
      },
      (e: unknown) => {
        if (transient(e)) this.health.lost(safeMessage(e));
        else if (safeMessage(e) !== this.lastProblem) {
          this.lastProblem = safeMessage(e);
          this.log.error({ err: this.lastProblem }, 'heartbeat failed; the worker keeps running and beats again');
        }
      },
    ).finally(() => {
      clearTimeout(this.overdue);
      this.inFlight = false;
    });
  }
}
