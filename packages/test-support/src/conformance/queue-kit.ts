// What the parts of the queue conformance suite share: the backend under test and a drain helper.
import { QueueEmpty, QueueShutDown, type AsyncQueue, type QueueOrder } from '@asyncq/core';

/** Options a conformance test opens a queue with. */
export interface OpenOptions {
  maxsize?: number;
  order?: QueueOrder;
  lease?: number;
  stalledInterval?: number;
}

/**
 * A backend under test: `open` makes a queue, and `peer` another handle on the same queue (for a
 * backend that is not shared, the same object); `construct` builds one from raw options, for the
 * argument checks. Tests branch on `capabilities`, never on the backend's name.
 */
export interface Backend {
  name: string;
  open<T>(opts?: OpenOptions): { q: AsyncQueue<T>; peer(): AsyncQueue<T> };
  construct(opts: Record<string, unknown>): unknown;
}

export async function drainAll<T>(q: AsyncQueue<T>): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    try {
      out.push(await q.getNowait());
      await q.taskDone();
    } catch (e) {
      if (e instanceof QueueEmpty || e instanceof QueueShutDown) return out;
      throw e;
    }
  }
}
