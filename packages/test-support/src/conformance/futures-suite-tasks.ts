// Conformance of remote tasks with asyncio's cancel and gather (CPython
// Lib/test/test_asyncio/test_tasks.py; wait, wait_for and as_completed are in
// futures-suite-waits.ts), each case ported to tasks that run on a worker and asserting what ran,
// what was cancelled and what was raised.
import { describe, expect, it } from 'vitest';
import { gather, TaskCancelled, TaskFailed, WaitAborted } from '@asyncq/core';
import { rejection, scripted, until, type FuturesBackend } from './futures-harness.js';

export function tasksConformance(backend: FuturesBackend): void {
  describe(`${backend.name}: cancel (test_tasks: test_cancel*)`, () => {
    it('test_cancel: a waiting task is cancelled, never runs, and a second cancel is false', async () => {
      const s = await scripted(backend, 1);
      const first = await s.held('first');
      await s.running('first');
      const queued = await s.held('queued'); // waits behind `first` (concurrency 1)
      expect(await queued.state()).toBe('waiting');
      expect(await queued.cancel({ reason: 'no longer wanted' })).toBe(true);
      expect(await queued.cancel()).toBe(false);
      s.release('first');
      expect(await first.result()).toBe('first');
      const err = (await rejection(queued.result())) as TaskCancelled;
      expect(err).toBeInstanceOf(TaskCancelled);
      expect(err.reason).toBe('no longer wanted'); // test_cancel_with_message
      await s.q.join({ timeout: 10_000 });
      expect(s.seen.started).toEqual(['first']);
      expect(await queued.state()).toBe('cancelled');
    });

    it('cancelling a running task aborts its handler with TaskCancelled; result() rejects', async () => {
      const s = await scripted(backend);
      const t = await s.held('a');
      await s.running('a');
      expect(await t.cancel({ reason: 'stop' })).toBe(true);
      await until(() => s.seen.cancelled.includes('a'));
      expect(await rejection(t.result({ timeout: 10_000 }))).toBeInstanceOf(TaskCancelled);
      expect(await t.state()).toBe('cancelled');
      expect(s.seen.finished).toEqual([]);
    });

    it('test_cancel_done_future: a finished task cannot be cancelled', async () => {
      const s = await scripted(backend);
      const ok = await s.value(1);
      const bad = await s.boom('x');
      expect(await ok.result({ timeout: 10_000 })).toBe(1);
      expect(await rejection(bad.result({ timeout: 10_000 }))).toBeInstanceOf(TaskFailed);
      expect([await ok.cancel(), await bad.cancel()]).toEqual([false, false]);
      expect([await ok.state(), await bad.state()]).toEqual(['completed', 'failed']);
    });

    it('a handler that ignores its signal: what it returns is discarded, the task stays cancelled', async () => {
      const s = await scripted(backend);
      const t = await s.stubborn('deaf');
      await s.running('deaf');
      expect(await t.cancel()).toBe(true);
      s.release('deaf', { value: 'late' });
      await until(() => s.seen.finished.includes('deaf'));
      await s.q.join({ timeout: 10_000 });
      expect(await rejection(t.result())).toBeInstanceOf(TaskCancelled);
      expect(await t.state()).toBe('cancelled');
      expect((await s.q.counts()).completed).toBe(0);
    });
  });

  describe(`${backend.name}: gather (test_tasks: GatherTests)`, () => {
    it('test_gather: results in the order given, whatever order they finish in', async () => {
      const s = await scripted(backend);
      const refs = await Promise.all(['a', 'b', 'c'].map((k) => s.held(k)));
      const all = gather(refs);
      await s.running('a', 'b', 'c');
      for (const k of ['c', 'a', 'b']) s.release(k, { value: k.toUpperCase() });
      expect(await all).toEqual(['A', 'B', 'C']);
      expect(s.seen.finished).toEqual(['c', 'a', 'b']);
    });

    it('test_constructor_empty_sequence: gather of nothing is []', async () => {
      expect(await gather([])).toEqual([]);
    });

    it('test_one_exception: the first failure rejects the gather; the others keep running', async () => {
      const s = await scripted(backend);
      const refs = await Promise.all(['a', 'b', 'c'].map((k) => s.held(k)));
      const all = gather(refs);
      await s.running('a', 'b', 'c');
      s.release('b', { error: 'b broke' });
      const err = (await rejection(all)) as TaskFailed;
      expect(err).toBeInstanceOf(TaskFailed);
      expect(err.remoteMessage).toBe('b broke');
      s.release('a');
      s.release('c');
      expect(await refs[0]!.result({ timeout: 10_000 })).toBe('a');
      expect(await refs[2]!.result({ timeout: 10_000 })).toBe('c');
      expect(s.seen.cancelled).toEqual([]);
    });

    it('test_return_exceptions: failures and cancellations take their place', async () => {
      const s = await scripted(backend);
      const refs = await Promise.all(['a', 'b', 'c'].map((k) => s.held(k)));
      const all = gather(refs, { returnExceptions: true });
      await s.running('a', 'b', 'c');
      s.release('a', { error: 'a broke' });
      await refs[1]!.cancel();
      s.release('c', { value: 3 });
      const out = await all;
      expect(out[0]).toBeInstanceOf(TaskFailed);
      expect(out[1]).toBeInstanceOf(TaskCancelled);
      expect(out[2]).toBe(3);
      expect(s.seen.cancelled).toEqual(['b']);
    });

    it('test_one_cancellation: a task cancelled by someone else rejects the gather with TaskCancelled', async () => {
      const s = await scripted(backend);
      const refs = await Promise.all(['a', 'b'].map((k) => s.held(k)));
      const all = gather(refs);
      await s.running('a', 'b');
      await refs[0]!.cancel();
      expect(await rejection(all)).toBeInstanceOf(TaskCancelled);
      s.release('b');
      expect(await refs[1]!.result({ timeout: 10_000 })).toBe('b');
    });

    it('cancelling the gather (its signal) cancels the unfinished tasks, not the finished ones', async () => {
      const s = await scripted(backend);
      const refs = await Promise.all(['a', 'b', 'c'].map((k) => s.held(k)));
      const stop = new AbortController();
      const all = gather(refs, { signal: stop.signal });
      await s.running('a', 'b', 'c');
      s.release('a');
      expect(await refs[0]!.result({ timeout: 10_000 })).toBe('a');
      stop.abort();
      expect(await rejection(all)).toBeInstanceOf(WaitAborted);
      await until(() => s.seen.cancelled.length === 2);
      expect(s.seen.cancelled.sort()).toEqual(['b', 'c']);
      expect(await Promise.all(refs.map((r) => r.state()))).toEqual(['completed', 'cancelled', 'cancelled']);
    });
  });
}
