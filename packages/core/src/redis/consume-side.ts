import { Completion } from './completion.js';
import { Consumer } from './consumer.js';
import { ConsumeBatcher, type BatcherConsumer } from './consume-batcher.js';
import { LeaseKeeper } from './lease-keeper.js';
import type { RedisSession } from './redis-session.js';

/** The parts of a handle that consume, wired together once connected. */
export interface ConsumeSide<T> {
  readonly consumer: Consumer<T>;
  readonly completion: Completion<T>;
  /** Finishes what is in flight, hands every held task back at once, and stops. */
  close(): Promise<void>;
}

/**
 * Builds the consume side of a handle: its leases, one consume batcher per partition (the batched round
 * trip of acknowledgements and reservations), completion, and the consumer that routes reserved
 * tasks to gets. The batcher reports to the consumer, and the consumer hands out tasks that
 * completion finishes: the closures below close that loop once every part exists.
 */
export function buildConsumeSide<T>(session: RedisSession): ConsumeSide<T> {
  const leases = new LeaseKeeper<T>(session, (p) => consumer.leaseLost(p), (p, id) => consumer.taskCancelled(p, id));
  const relay: BatcherConsumer = {
    demand: (q, acks) => consumer.demand(q, acks),
    offer: (q, wanted, reply) => consumer.offer(q, wanted, reply),
    reservationFailed: (q, e) => consumer.reservationFailed(q, e),
  };
  const batchers: ConsumeBatcher[] = session.config.partitions.map((_, p) => new ConsumeBatcher(session, p, leases as LeaseKeeper<unknown>, relay));
  const completion = new Completion<T>(session, leases, batchers);
  const consumer: Consumer<T> = new Consumer<T>(session, leases, batchers, completion);
  return {
    consumer,
    completion,
    close: async () => {
      completion.close();
      await consumer.close();
    },
  };
}
