import type { FiredOccurrence, ScheduleFiring } from '@asyncq/core';
import { safeMessage } from '@asyncq/core/internal';
import { sleep } from './timers.js';
import type { WorkerLogger } from './worker-logger.js';

/** What a schedule timer fires through: a Redis queue handle (a LocalQueue has no schedules). */
export interface ScheduleSource {
  fireDueSchedules(): Promise<ScheduleFiring>;
}

/** Longest wait between two firings: how soon a new schedule, or one whose time came, is seen. */
const IDLE_MS = 1000;

/**
 * Drives a queue's schedules from a worker: there is no beat process, every worker runs this
 * timer, and the firing script lets one of them enqueue each occurrence (see the core's
 * `ScheduleBook`). It wakes at the next due time, and at least every second to see new schedules:
 * a queue without schedules costs each worker one read a second, and no task pays anything for it.
 */
export class ScheduleTimer {
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;
  private lastProblem = '';

  constructor(
    private readonly source: ScheduleSource,
    private readonly onFired: (f: FiredOccurrence) => void,
    private readonly log: WorkerLogger,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** No more firings; resolves once the one in flight (if any) is done. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      let waitMs = IDLE_MS;
      try {
        const r = await this.source.fireDueSchedules();
        for (const f of r.fired) this.onFired(f);
        if (r.nextDue > 0) waitMs = Math.min(IDLE_MS, Math.max(1, r.nextDue - r.now));
        this.lastProblem = '';
      } catch (e) {
        // Redis away or refusing: said once per distinct reason; the next firing catches up.
        if (!this.stopping.signal.aborted && safeMessage(e) !== this.lastProblem) {
          this.lastProblem = safeMessage(e);
          this.log.warn({ err: this.lastProblem }, 'firing schedules failed; the worker tries again');
        }
      }
      await sleep(waitMs, this.stopping.signal);
    }
  }
}
