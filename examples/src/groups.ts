import { Queue } from '@asyncq/core';
import { Worker } from '@asyncq/worker';

// Groups share a queue fairly: a tenant with a big backlog does not delay the others.
const q = new Queue<{ tenant: string; n: number }>('reports', { connection: process.env.REDIS_URL });
await q.setLimits({ perGroup: { concurrency: 1 } }); // one report per tenant at a time
await q.putMany(Array.from({ length: 20 }, (_, n) => ({ item: { tenant: 'big', n }, opts: { group: 'big' } })));
for (const tenant of ['a', 'b', 'c']) {
  await q.putMany([0, 1].map((n) => ({ item: { tenant, n }, opts: { group: tenant } })));
}

const running = new Map<string, number>();
let most = 0;
const finished: string[] = [];
const worker = new Worker(
  'reports',
  async (data) => {
    const { tenant, n } = data as { tenant: string; n: number };
    running.set(tenant, (running.get(tenant) ?? 0) + 1);
    most = Math.max(most, running.get(tenant)!);
    await new Promise((r) => setTimeout(r, 10)); // the report
    running.set(tenant, running.get(tenant)! - 1);
    finished.push(`${tenant}${n}`);
  },
  { connection: process.env.REDIS_URL, concurrency: 8, handleSignals: false },
);
void worker.run();
await q.join();

const lastSmall = Math.max(...['a', 'b', 'c'].map((t) => finished.indexOf(`${t}1`)));
const bigBefore = finished.slice(0, lastSmall).filter((t) => t.startsWith('big')).length;
console.log(`the small tenants were done after ${bigBefore <= 5 ? 'at most 5' : 'more than 5'} of big's 20 reports`);
console.log(`at most ${most} report of a tenant at once`);
await q.setLimits({});
await worker.close();
await q.close();
