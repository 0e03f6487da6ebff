import { Semaphore } from '@asyncq/core';
import { Producer } from '@asyncq/producer';
import { defineHandlers, Worker } from '@asyncq/worker';

const connection = process.env.REDIS_URL;

// The same name is the same semaphore in every process: however many workers run this module,
// at most 3 calls reach the partner's API at once, fleet-wide.
const partnerApi = new Semaphore('partner-api', { connection, value: 3 });
let calling = 0;
let most = 0;

async function lookUpPrice(sku: string, signal: AbortSignal): Promise<number> {
  calling++;
  most = Math.max(most, calling);
  try {
    await new Promise((resolve) => setTimeout(resolve, 50)); // stands for fetch(url, { signal })
    return signal.aborted ? NaN : sku.length * 100;
  } finally {
    calling--;
  }
}

const handlers = defineHandlers({
  // `signal` aborts if this process stalls past the permit's lease (the permit may be someone else's by then).
  price: (data: { sku: string }) => partnerApi.run(({ signal }) => lookUpPrice(data.sku, signal)),
});

const worker = new Worker('prices', handlers, { connection, concurrency: 16 });
const running = worker.run();

const producer = new Producer({ queue: 'prices', connection });
await producer.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ name: 'price', data: { sku: `sku-${i}` } })));
await producer.join();
console.log(`30 prices looked up by 16 handlers, at most ${most} API calls at once`);

await producer.close();
await worker.close();
await running;
await partnerApi.close();
