// Durable chains and chords (issue 20) on a Redis Cluster, unpartitioned and with 3 partitions:
// each flow lives in one slot, its steps follow inside the completion script, a chord's callback
// runs once with the group's results in order, and cancelling a flow cancels its parts.
import { describe, expect, it } from 'vitest';
import { TaskCancelled } from '@asyncq/core';
import { Producer } from '@asyncq/producer';
import { defineHandlers, Worker, type Handler } from '@asyncq/worker';
import { eventually, sleep, uniqueName } from '@asyncq/test-support';
import { newQueue, openCluster, track } from './cluster-helpers.js';

function setup(handlers: Record<string, Handler>, partitions?: number) {
  const name = uniqueName('flows');
  const ran: string[] = [];
  const noted = Object.fromEntries(Object.entries(handlers).map(([n, h]) => [n, (d: unknown, ctx: Parameters<Handler>[1]) => (ran.push(`${n}:${JSON.stringify(d)}`), h(d, ctx))]));
  const producer = track(new Producer({ queue: name, connection: openCluster(), partitions }), [name]);
  const worker = new Worker(name, defineHandlers(noted), { queue: newQueue(name, { connection: openCluster(), partitions }), concurrency: 8, handleSignals: false, workerRegistry: false });
  track({ close: () => worker.close({ graceMs: 0 }) });
  void worker.run();
  return { producer, ran };
}

const handlers: Record<string, Handler> = {
  inc: async (n) => (n as number) + 1,
  wait: async (ms) => (await sleep(ms as number), ms),
  list: async (xs) => xs,
  hang: (_n, ctx) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error))),
};

for (const partitions of [undefined, 3]) {
  describe(`durable flows on a Redis Cluster${partitions ? `, ${partitions} partitions` : ''}`, () => {
    it('a chain runs its steps once each, in order; a chord its callback once, in group order', async () => {
      const { producer, ran } = setup(handlers, partitions);
      const chains = await Promise.all([0, 1, 2, 3].map((i) => producer.chain<number>([{ task: 'inc', data: i * 10 }, { task: 'inc' }, { task: 'inc' }], { key: `k${i}` })));
      expect(await Promise.all(chains.map((c) => c.result({ timeout: 20_000 })))).toEqual([3, 13, 23, 33]);
      const chord = await producer.chord([200, 0, 100, 50].map((ms) => ({ task: 'wait', data: ms })), { task: 'list' });
      expect(await chord.result({ timeout: 20_000 })).toEqual([200, 0, 100, 50]);
      expect(ran.filter((r) => r.startsWith('inc:'))).toHaveLength(12);
      expect(ran.filter((r) => r.startsWith('list:'))).toEqual(['list:[200,0,100,50]']);
      await producer.join({ timeout: 10_000 });
    });

    it('cancelling a chord cancels its running group and its callback', async () => {
      const { producer, ran } = setup(handlers, partitions);
      const chord = await producer.chord([1, 2].map((n) => ({ task: 'hang', data: n })), { task: 'list' });
      await eventually(() => expect(ran).toHaveLength(2), 10_000);
      expect(await chord.cancel({ reason: 'enough' })).toBe(true);
      await expect(chord.result({ timeout: 10_000 })).rejects.toBeInstanceOf(TaskCancelled);
      await producer.join({ timeout: 10_000 });
      expect(await Promise.all(chord.tasks.map((t) => t.state()))).toEqual(['cancelled', 'cancelled', 'cancelled']);
      expect(ran.some((r) => r.startsWith('list:'))).toBe(false);
    });
  });
}
