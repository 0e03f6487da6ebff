// One consumer process of the core demo: takes tasks until the queue is shut down and empty.
import { Queue, QueueShutDown } from '@asyncq/core';

const [name, label] = process.argv.slice(2) as [string, string];
const q = new Queue<{ n: number; ms: number }>(name, { connection: process.env.REDIS_URL });
let done = 0;
let workMs = 0;
for (;;) {
  let item;
  try {
    item = await q.get();
  } catch (e) {
    if (e instanceof QueueShutDown) break; // asyncio 3.13: get raises once a shut-down queue is empty
    throw e;
  }
  await new Promise((r) => setTimeout(r, item.ms)); // the "work"
  workMs += item.ms;
  done++;
  await q.taskDone();
}
await q.close();
process.send?.({ label, done, workMs });
