// test_locks.BarrierTests, ported (see sync-conformance-suite.ts).
import { describe, expect, it } from 'vitest';

import { Barrier, BrokenBarrier, ConfigError, WaitAborted } from '@asyncq/core';
import { eventually, rejects, watch, type SyncBackend, type SyncKit } from './sync-kit.js';

export function barrierConformance(backend: SyncBackend, kit: SyncKit): void {
  const { name, opts, lock, event, cond, sem, bsem, barrier, queued } = kit;

  describe(`${backend.name}: Barrier (test_locks.BarrierTests)`, () => {
    const N = 5;
    const gather = async <T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: n }, (_, i) => fn(i)));

    it('parties below 1 or not whole are refused with one line (test_barrier_parties)', () => {
      for (const p of [0, -4, 2.5]) expect(() => new Barrier(name('bp'), { ...opts(), parties: p })).toThrow(ConfigError);
      expect(() => new Barrier(name('bp'), { ...opts(), parties: 0 })).toThrow(/^barrier parties must be a whole number from 1 to 1000000, got 0$/);
      expect(() => new Barrier(name('bp'), { ...opts() } as never)).toThrow(/needs parties/);
      expect(barrier(name('bp'), N).parties).toBe(N);
    });

    it('N parties in N handles pass together, each with its own index (test_context_manager)', async () => {
      const n = name('b');
      const bs = Array.from({ length: 3 }, () => barrier(n, 3));
      const results = await gather(3, (i) => bs[i]!.wait());
      expect(results.sort()).toEqual([0, 1, 2]);
      expect(await bs[0]!.nWaiting()).toBe(0);
      expect(await bs[0]!.broken()).toBe(false);
    });

    it('a barrier of one passes at once, twice (test_filling_one_task, test_filling_one_task_twice)', async () => {
      const b = barrier(name('b1'), 1);
      expect(await b.wait()).toBe(0);
      expect(await b.wait()).toBe(0);
      expect(await b.nWaiting()).toBe(0);
      expect(await b.broken()).toBe(false);
    });

    it('counts the parties waiting as it fills (test_filling_task_by_task)', async () => {
      const n = name('bt');
      const b = barrier(n, 3);
      const t1 = watch(b.wait());
      await eventually(async () => expect(await b.nWaiting()).toBe(1));
      const t2 = watch(b.wait());
      await eventually(async () => expect(await b.nWaiting()).toBe(2));
      const t3 = watch(b.wait());
      await Promise.all([t1.p, t2.p, t3.p]);
      expect(await b.nWaiting()).toBe(0);
      expect(await b.broken()).toBe(false);
    });

    it('is reusable: every party passes twice, with indexes 0..N-1 each round (test_filling_tasks_wait_twice, test_filling_tasks_check_return_value)', async () => {
      const n = name('bw');
      const bs = Array.from({ length: N }, () => barrier(n, N));
      const results: boolean[] = [];
      const second = await gather(N, async (i) => {
        await bs[i]!.wait();
        results.push(true);
        const index = await bs[i]!.wait();
        results.push(false);
        return index;
      });
      expect(results.filter((r) => r)).toHaveLength(N);
      expect(results.filter((r) => !r)).toHaveLength(N);
      expect(second.sort()).toEqual([0, 1, 2, 3, 4]);
      expect(await bs[0]!.nWaiting()).toBe(0);
    });

    it('parties that come back while the last round drains wait for the next round (test_blocking_tasks_while_draining)', async () => {
      const n = name('bd');
      const bs = Array.from({ length: N }, () => barrier(n, N));
      const others = barrier(name('bdo'), N - 2);
      let rewait = 2;
      await gather(N, async (i) => {
        await bs[i]!.wait();
        if (rewait > 0) {
          rewait--;
          await bs[i]!.wait();
        } else {
          await others.wait();
          await bs[i]!.wait();
        }
      });
    });

    it('an aborted party leaves the count (test_filling_tasks_cancel_one)', async () => {
      const n = name('bc');
      const b = barrier(n, 3);
      const results: boolean[] = [];
      const go = (signal?: AbortSignal) => watch(b.wait({ signal }).then(() => results.push(true)));
      const ac = new AbortController();
      const t1 = go(ac.signal);
      await eventually(async () => expect(await b.nWaiting()).toBe(1));
      const t2 = go();
      await eventually(async () => expect(await b.nWaiting()).toBe(2));
      ac.abort();
      await rejects(() => t1.p, WaitAborted);
      expect(await b.nWaiting()).toBe(1);
      const t3 = go();
      await eventually(async () => expect(await b.nWaiting()).toBe(2));
      const t4 = go();
      await Promise.all([t2.p, t3.p, t4.p]);
      expect(results).toHaveLength(3);
      expect(await b.nWaiting()).toBe(0);
      expect(await b.broken()).toBe(false);
    });

    it('reset and abort of an empty barrier (test_reset_barrier, test_abort_barrier)', async () => {
      const b = barrier(name('br'), 1);
      await b.reset();
      expect(await b.nWaiting()).toBe(0);
      expect(await b.broken()).toBe(false);
      await b.abort();
      expect(await b.broken()).toBe(true);
      await rejects(() => b.wait(), BrokenBarrier, 'BROKEN_BARRIER');
      await b.reset();
      expect(await b.broken()).toBe(false);
      expect(await b.wait()).toBe(0);
    });

    it('reset wakes the waiting parties with BrokenBarrier, and the barrier works again (test_reset_barrier_while_tasks_waiting)', async () => {
      const n = name('brw');
      const bs = Array.from({ length: N }, () => barrier(n, N));
      const waiting = bs.slice(0, N - 1).map((b) => watch(b.wait()));
      await eventually(async () => expect(await bs[0]!.nWaiting()).toBe(N - 1));
      await bs[N - 1]!.reset();
      for (const w of waiting) await rejects(() => w.p, BrokenBarrier);
      expect(await bs[0]!.nWaiting()).toBe(0);
      expect(await bs[0]!.broken()).toBe(false);
      const again = await gather(N, (i) => bs[i]!.wait());
      expect(again.sort()).toEqual([0, 1, 2, 3, 4]);
    });

    it('parties broken by a reset wait again and pass with the one that comes later (test_reset_barrier_while_tasks_waiting_and_waiting_again)', async () => {
      const n = name('brwa');
      const bs = Array.from({ length: N }, () => barrier(n, N));
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const tasks = bs.slice(0, N - 1).map((b) =>
        (async () => {
          try {
            await b.wait();
          } catch (e) {
            if (e instanceof BrokenBarrier) results1.push(true);
          } finally {
            await b.wait();
            results2.push(true);
          }
        })(),
      );
      await eventually(async () => expect(await bs[0]!.nWaiting()).toBe(N - 1));
      await bs[N - 1]!.reset();
      await eventually(() => expect(results1).toHaveLength(N - 1));
      await bs[N - 1]!.wait().then(() => results2.push(true));
      await Promise.all(tasks);
      expect(await bs[0]!.broken()).toBe(false);
      expect(results2).toHaveLength(N);
    });

    it('abort breaks the parties still inside and those that wait again (test_abort_barrier_when_tasks_half_draining_half_blocking)', async () => {
      const n = name('bah');
      const bs = Array.from({ length: N }, () => barrier(n, N));
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const blocking = Math.floor(N / 2);
      let count = 0;
      await gather(N, async (i) => {
        const b = bs[i]!;
        try {
          await b.wait();
        } catch (e) {
          // still inside when the abort came: asyncio's tasks not yet resumed from the first round
          if (e instanceof BrokenBarrier) results1.push(true);
          return;
        }
        count++;
        if (count > blocking) await b.abort();
        else {
          try {
            await b.wait();
          } catch (e) {
            if (e instanceof BrokenBarrier) results2.push(true);
          }
        }
      });
      expect(await bs[0]!.broken()).toBe(true);
      // Which parties had left the first round when the abort came is up to scheduling (asyncio's
      // loop fixes it); every party either left and waited again (broken), aborted, or was broken inside.
      expect(results2).toHaveLength(blocking);
      expect(results1.length + count).toBe(N);
      expect(await bs[0]!.nWaiting()).toBe(0);
    });

    it('a party that fails aborts the barrier: every other party gets BrokenBarrier (test_abort_barrier_when_exception)', async () => {
      const n = name('bae');
      const bs = Array.from({ length: N }, () => barrier(n, N));
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      await gather(N, async (i) => {
        const b = bs[i]!;
        try {
          const index = await b.wait();
          if (index === Math.floor(N / 2)) throw new Error('party failed');
          await b.wait();
          results1.push(true);
        } catch (e) {
          if (e instanceof BrokenBarrier) results2.push(true);
          else await b.abort();
        }
      });
      expect(await bs[0]!.broken()).toBe(true);
      expect(results1).toHaveLength(0);
      expect(results2).toHaveLength(N - 1);
      expect(await bs[0]!.nWaiting()).toBe(0);
    });

    it('after an abort, a reset between two other barriers lets every party pass again (test_abort_barrier_when_exception_then_resetting)', async () => {
      const n1 = name('bar1');
      const n2 = name('bar2');
      const b1s = Array.from({ length: N }, () => barrier(n1, N));
      const b2s = Array.from({ length: N }, () => barrier(n2, N));
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const results3: boolean[] = [];
      await gather(N, async (i) => {
        const [b1, b2] = [b1s[i]!, b2s[i]!];
        try {
          const index = await b1.wait();
          if (index === Math.floor(N / 2)) throw new Error('party failed');
          await b1.wait();
          results1.push(true);
        } catch (e) {
          if (e instanceof BrokenBarrier) results2.push(true);
          else await b1.abort();
        }
        if ((await b2.wait()) === Math.floor(N / 2)) await b1.reset();
        await b2.wait();
        await b1.wait();
        results3.push(true);
      });
      expect(await b1s[0]!.broken()).toBe(false);
      expect(results1).toHaveLength(0);
      expect(results2).toHaveLength(N - 1);
      expect(results3).toHaveLength(N);
      expect(await b1s[0]!.nWaiting()).toBe(0);
    });
  });
}
