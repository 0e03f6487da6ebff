import { Queue, RateLimited } from '@asyncq/core';
import { Worker } from '@asyncq/worker';

// Limits live in Redis: every worker on the queue follows them, from the next task on.
const q = new Queue<{ to: string }>('partner-calls', { connection: process.env.REDIS_URL });
await q.setLimits({ rate: { max: 5, per: '1s' }, concurrency: 2 });
console.log('limits:', JSON.stringify(await q.limits()));

let running = 0;
let most = 0;
let told429 = false;
const worker = new Worker(
  'partner-calls',
  async (data, ctx) => {
    const { to } = data as { to: string };
    most = Math.max(most, ++running);
    try {
      if (!told429) {
        told429 = true; // the partner said "too many requests, try again in 200 ms"
        throw new RateLimited(200); // back in 200 ms, no attempt used
      }
      await new Promise((r) => setTimeout(r, 20)); // the call
      return `sent to ${to} on attempt ${ctx.attempt}`;
    } finally {
      running--;
    }
  },
  { connection: process.env.REDIS_URL, concurrency: 16, handleSignals: false },
);
void worker.run();

const started = Date.now();
await q.putMany(Array.from({ length: 10 }, (_, i) => ({ item: { to: `user${i}@example.com` }, opts: { attempts: 1 } })));
await q.join();
console.log(`10 calls, at most ${most} at once, in ${Date.now() - started >= 1000 ? 'more' : 'less'} than a second`);
console.log(`failed: ${(await q.counts()).failed}`); // the 429 used no attempt
await q.setLimits({}); // clears them
await worker.close();
await q.close();
