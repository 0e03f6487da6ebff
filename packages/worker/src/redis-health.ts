import { RedisUnreachable } from '@asyncq/core';
import type { WorkerLogger } from './worker-logger.js';

/** What `/healthz` reports about Redis. */
export type HealthReport = { status: 'ok' } | { status: 'unavailable'; reason: string; since: string };

/**
 * Whether this worker can reach Redis, from what it sees anyway (its heartbeats, its getTask and
 * finishing calls): no probe of its own. Going down and coming back are logged once each.
 */
export class RedisHealth {
  private down?: { since: number; reason: string };

  constructor(
    private readonly log: WorkerLogger,
    private readonly onLost: (error: Error) => void,
  ) {}

  /** A call to Redis just succeeded. */
  ok(): void {
    if (!this.down) return;
    const downMs = Date.now() - this.down.since;
    this.down = undefined;
    // At the outage's own level, so whoever saw it go sees it come back.
    this.log.warn({ downMs }, 'Redis back');
  }

  /** A call to Redis failed for want of Redis (`reason` says how); callers retry. */
  lost(reason: string): void {
    if (this.down) return;
    this.down = { since: Date.now(), reason };
    this.log.warn({ err: reason }, 'Redis unreachable, retrying');
    this.onLost(new RedisUnreachable({ reason }));
  }

  /** True while Redis is thought unreachable. */
  get isDown(): boolean {
    return this.down !== undefined;
  }

  /** What `/healthz` shows: ok, or why Redis is thought unreachable and since when. */
  report(): HealthReport {
    if (!this.down) return { status: 'ok' };
    return { status: 'unavailable', reason: `Redis unreachable: ${this.down.reason}`, since: new Date(this.down.since).toISOString() };
  }
}
