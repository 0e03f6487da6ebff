import type { QueueAdmin, WorkerRegistry } from '@asyncq/core';
import { decideScale, describeDecision, type AutoscalePolicy, type AutoscaleSample, type AutoscaleState } from './autoscale.js';

/**
 * The autoscaler of a fleet: samples the queue (its Redis counters, backlog, live workers and the
 * desired count), asks {@link decideScale}, and writes a change as the desired count, marked as the
 * autoscaler's, so that every fleet of the queue follows it. It logs each change with the figures
 * it was decided on, and once when a count set by hand takes over or is handed back.
 */
export class FleetAutoscaler {
  private state: AutoscaleState = { samples: [] };
  private manual = false;

  constructor(
    private readonly policy: AutoscalePolicy,
    private readonly queue: { admin: QueueAdmin; registry: WorkerRegistry },
    /** The count the fleet runs while none is set. */
    private readonly fallback: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Reads the queue as {@link AutoscaleSample}. */
  async sample(at = Date.now()): Promise<AutoscaleSample> {
    const { admin, registry } = this.queue;
    const [counts, totals, workers, desired] = await Promise.all([admin.counts(), admin.totals(), registry.list(), registry.desiredState()]);
    return {
      at,
      unfinished: counts.unfinished,
      waiting: counts.waiting,
      added: totals.added,
      finished: totals.completed + totals.failed,
      workers: workers.length,
      ...(desired ? { desired } : {}),
    };
  }

  /** One decision on a fresh sample; resolves to the new desired count, or undefined when kept. */
  async step(): Promise<number | undefined> {
    const sample = await this.sample();
    const { state, decision } = decideScale(this.policy, this.state, sample, this.fallback);
    this.state = state;
    const manual = decision.why === 'manual';
    if (manual !== this.manual) {
      this.manual = manual;
      this.log(
        manual
          ? `autoscale: paused while ${decision.from} workers are set by hand (asyncq scale); clearing it hands the count back`
          : 'autoscale: the count set by hand was cleared; following the backlog again',
      );
    }
    // With no count stored, each fleet runs its own -w: store one, so that every fleet shares the same.
    const to = decision.to ?? (sample.desired === undefined && !manual ? decision.from : undefined);
    if (to === undefined) return undefined;
    this.log(decision.to === undefined ? `autoscale: sizing the fleets of ${this.queue.registry.name} from ${to} workers` : describeDecision(decision, this.policy));
    await this.queue.registry.setDesired(to, 'autoscaler');
    return to;
  }
}
