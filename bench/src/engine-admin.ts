/** The driver's untimed work on each engine's queues: prefilling one before a worker run, through the engine's own API. */
import { Queue as BullQueue } from 'bullmq';
import { Producer } from '@asyncq/producer';
import { beeProducer } from './child-bee.js';
import { chunk } from './chunk.js';
import { bullConnection, BULL_PREFIX } from './connections.js';
import type { EngineId } from './protocol.js';

/** Display names. */
export const ENGINE_LABEL: Record<EngineId, string> = { asyncq: 'asyncq', bullmq: 'BullMQ', bee: 'bee-queue' };

/** What each engine keeps of completed jobs in the bench, for the report. */
export const ENGINE_KEEPS: Record<EngineId, string> = {
  asyncq: 'the last 1,000 completed (its default keepCompleted)',
  bullmq: 'the last 1,000 completed (removeOnComplete: 1000)',
  bee: 'none (removeOnSuccess: true; bee-queue keeps all or none)',
};

/** Enqueues `count` no-op tasks in batches of `batch`, untimed. */
export async function prefill(engine: EngineId, url: string, queue: string, count: number, batch: number, keepCompleted: number, groups = 0): Promise<void> {
  if (engine === 'asyncq') {
    const p = new Producer({ queue, connection: url, keepCompleted });
    try {
      await p.enqueueMany(
        Array.from({ length: count }, (_, i) => ({ name: 'task', data: { i }, ...(groups > 0 ? { opts: { group: `g${i % groups}` } } : {}) })),
        { batchSize: batch },
      );
    } finally {
      await p.close();
    }
  } else if (engine === 'bullmq') {
    const q = new BullQueue(queue, { connection: bullConnection(url), prefix: BULL_PREFIX });
    try {
      for (const b of chunk(count, batch, (i) => ({ name: 'task', data: { i }, opts: { removeOnComplete: keepCompleted } }))) await q.addBulk(b);
    } finally {
      await q.close();
    }
  } else {
    const q = beeProducer(url, queue);
    try {
      await q.ready();
      for (const b of chunk(count, batch, (i) => ({ i }))) {
        const errors = await q.saveAll(b.map((data) => q.createJob(data)));
        if (errors.size > 0) throw new Error(`bee-queue saveAll: ${[...errors.values()][0]?.message}`);
      }
    } finally {
      await q.close();
    }
  }
}
