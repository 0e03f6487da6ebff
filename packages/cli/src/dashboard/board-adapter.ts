import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { WorkerInfo, WorkerRegistry } from '@asyncq/core';
import { holderOf } from '../queues/worker-names.js';

type BullQueue = ConstructorParameters<typeof BullMQAdapter>[0];
type AdapterOptions = NonNullable<ConstructorParameters<typeof BullMQAdapter>[1]>;
type BullJob = Awaited<ReturnType<BullMQAdapter['getJobs']>>[number];

/** How long a read of the worker registry names the holders of every job bull-board lists. */
const REGISTRY_TTL_MS = 1000;

/**
 * The live workers of one queue, read from its registry at most once a second: a page of 100 jobs
 * (and each partition's page) costs one registry read, not one a job.
 */
export class BoardWorkerNames {
  private read?: { at: number; workers: Promise<WorkerInfo[]> };

  constructor(private readonly registry: WorkerRegistry) {}

  /**
   * What bull-board shows as a job's "processed by": asyncq stores the lease the task is held under
   * (`<handle>.<n>`, BullMQ's `processedBy`, which its scripts check), so this names the worker by
   * its id, as `asyncq workers`, `inspect`, `watch`, `join` and the asyncq page do, while that
   * worker lives; a task whose worker has gone keeps its lease, named so (as `asyncq logs` does).
   */
  async relabel(jobs: readonly BullJob[]): Promise<void> {
    if (!jobs.some((j) => j.processedBy)) return;
    const workers = await this.workers();
    for (const job of jobs) {
      if (!job.processedBy) continue;
      job.processedBy = holderOf(job.processedBy, workers)?.id ?? `lease ${job.processedBy}`;
    }
  }

  private workers(): Promise<WorkerInfo[]> {
    const now = Date.now();
    if (!this.read || now - this.read.at >= REGISTRY_TTL_MS) {
      // A failed read is not kept: the next page asks again.
      const workers = this.registry.list().catch((e: unknown) => {
        this.read = undefined;
        throw e;
      });
      this.read = { at: now, workers };
    }
    return this.read.workers;
  }
}

/**
 * bull-board's BullMQ adapter over one partition of an asyncq queue: jobs name their worker by its
 * asyncq id ({@link BoardWorkerNames}), and BullMQ's queue-wide rate limit, which asyncq never
 * uses (its limits are `asyncq limits`), is neither shown nor offered.
 */
export class AsyncqBoardAdapter extends BullMQAdapter {
  constructor(
    queue: BullQueue,
    options: Partial<AdapterOptions>,
    private readonly names: BoardWorkerNames,
  ) {
    super(queue, options);
  }

  override async getJob(id: string): Promise<BullJob | undefined> {
    const job = await super.getJob(id);
    if (job) await this.names.relabel([job]);
    return job;
  }

  override async getJobs(...args: Parameters<BullMQAdapter['getJobs']>): Promise<BullJob[]> {
    const jobs = await super.getJobs(...args);
    await this.names.relabel(jobs);
    return jobs;
  }

  override get supportsGlobalRateLimit(): boolean {
    return false;
  }

  override getActiveRateLimitTtl(): Promise<number> {
    return Promise.resolve(0);
  }
}
