// The producer process of the core demo: puts tasks into a bounded queue, so put waits while it is full.
import { Queue } from '@asyncq/core';

const [name, count, maxsize] = process.argv.slice(2) as [string, string, string];
const q = new Queue<{ n: number; ms: number }>(name, { connection: process.env.REDIS_URL, maxsize: Number(maxsize) });
for (let n = 1; n <= Number(count); n++) await q.put({ n, ms: 5 + Math.floor(Math.random() * 20) });
await q.close();
process.send?.({ put: Number(count) });
