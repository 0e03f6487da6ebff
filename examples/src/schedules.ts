import { Queue } from '@asyncq/core';
import { defineHandlers, Worker } from '@asyncq/worker';

const connection = process.env.REDIS_URL;
const q = new Queue<{ report: string }>('reports', { connection });

// Upsert at every start, from any number of processes: the same timing keeps the next run.
await q.schedule('pulse', { every: '1s' }, { name: 'report', data: { report: 'pulse' } }, { limit: 3 });
await q.schedule('nightly', { cron: '0 3 * * *', tz: 'Europe/Berlin' }, { name: 'report', data: { report: 'nightly' } });

let runs = 0;
const worker = new Worker(
  'reports',
  defineHandlers({
    report: async (data: { report: string }) => {
      console.log(`ran ${data.report}`);
      if (++runs === 3) void worker.close();
    },
  }),
  { connection, handleSignals: false },
);
await worker.run(); // workers fire the schedules: there is no beat process to run

for (const s of await q.schedules()) console.log(`${s.id}: ${s.runs} runs, next ${s.next === undefined ? 'none' : new Date(s.next).toISOString()}`);
await q.unschedule('pulse');
await q.unschedule('nightly');
await q.close();
