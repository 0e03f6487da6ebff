import { asCompleted, gather, Producer, waitFor } from '@asyncq/producer';
import { defineHandlers, Worker } from '@asyncq/worker';

// A worker (any process, any machine) runs the handlers; here it shares the process for brevity.
const connection = process.env.REDIS_URL;
const worker = new Worker(
  'futures',
  defineHandlers({
    square: async (n: number) => n * n,
    sum: async (xs: number[]) => xs.reduce((a, b) => a + b, 0),
    fail: async (why: string) => {
      throw new Error(why);
    },
    // Honours ctx.signal: it aborts with TaskCancelled when anyone cancels the task.
    sleep: (ms: number, ctx) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => resolve(ms), ms);
        ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(ctx.signal.reason)));
      }),
  }),
  { connection, concurrency: 8, handleSignals: false },
);
void worker.run();
const producer = new Producer({ queue: 'futures', connection });

// asyncio.gather: results in order.
const squares = await Promise.all([1, 2, 3].map((n) => producer.enqueue<number>('square', n)));
console.log('gather:', await gather(squares));

// asyncio.as_completed: in finishing order.
const naps = await Promise.all([300, 100, 200].map((ms) => producer.enqueue('sleep', ms)));
for await (const ref of asCompleted(naps)) console.log('finished:', await ref.result());

// asyncio.wait_for: past the deadline the task is cancelled wherever it runs.
const slow = await producer.enqueue('sleep', 60_000);
await waitFor(slow, 500).catch((e: Error) => console.log('waitFor:', e.message, '->', e.cause instanceof Error ? e.cause.message : ''));
console.log('state:', await slow.state());

// asyncio.TaskGroup: one failure cancels the others and rejects with an AggregateError.
await producer
  .taskGroup(async (tg) => {
    await tg.enqueue('sleep', 60_000);
    await tg.enqueue('fail', 'no disk left');
  })
  .catch((e: AggregateError) => console.log('taskGroup:', e.message));

// A chord lives in Redis: its callback runs once, after every task of its group, even if this
// process exits right after creating it.
const total = await producer.chord([1, 2, 3].map((n) => ({ task: 'square', data: n })), { task: 'sum' });
console.log('chord:', await total.result({ timeout: 10_000 }));

await producer.close();
await worker.close();
