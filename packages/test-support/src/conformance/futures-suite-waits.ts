// Conformance of remote tasks with asyncio's wait, wait_for and as_completed (CPython
// Lib/test/test_asyncio/test_tasks.py), each case ported to tasks that run on a worker and
// asserting what ran, what was cancelled and what was raised.
import { describe, expect, it } from 'vitest';
import { asCompleted, ConfigError, TaskCancelled, TaskFailed, wait, waitFor, WaitAborted, type TaskRef } from '@asyncq/core';
import { rejection, scripted, stillPending, until, type FuturesBackend } from './futures-harness.js';

export function waitsConformance(backend: FuturesBackend): void {
  describe(`${backend.name}: wait (test_tasks: test_wait*)`, () => {
    it('test_wait / test_wait_with_exception: ALL_COMPLETED puts a failure in done and throws nothing', async () => {
      const s = await scripted(backend);
      const [a, b] = await Promise.all([s.held('a'), s.held('b')]);
      const w = wait([a!, b!]);
      await s.running('a', 'b');
      s.release('a', { error: 'a broke' });
      expect(await stillPending(w)).toBe(true);
      s.release('b');
      const { done, pending } = await w;
      expect([...done].map((r) => r.id).sort()).toEqual([a!.id, b!.id].sort());
      expect(pending.size).toBe(0);
      expect(await rejection(a!.result())).toBeInstanceOf(TaskFailed);
    });

    it('test_wait_first_completed: returns at the first finish, cancelling nothing', async () => {
      const s = await scripted(backend);
      const refs = await Promise.all(['a', 'b', 'c'].map((k) => s.held(k)));
      const w = wait(refs, { returnWhen: 'FIRST_COMPLETED' });
      await s.running('a', 'b', 'c');
      s.release('b');
      const { done, pending } = await w;
      expect([...done]).toEqual([refs[1]]);
      expect(new Set(pending)).toEqual(new Set([refs[0], refs[2]]));
      expect(await refs[0]!.state()).toBe('running');
      expect(s.seen.cancelled).toEqual([]);
    });

    it('test_wait_really_done: FIRST_COMPLETED with one already finished returns it', async () => {
      const s = await scripted(backend);
      const fast = await s.value('now');
      expect(await fast.result({ timeout: 10_000 })).toBe('now');
      const slow = await s.held('slow');
      const { done, pending } = await wait([fast, slow], { returnWhen: 'FIRST_COMPLETED' });
      expect([...done]).toEqual([fast]);
      expect([...pending]).toEqual([slow]);
    });

    it('test_wait_first_exception: returns at the first failure; a cancel is not one', async () => {
      const s = await scripted(backend);
      const refs = await Promise.all(['a', 'b', 'c'].map((k) => s.held(k)));
      const w = wait(refs, { returnWhen: 'FIRST_EXCEPTION' });
      await s.running('a', 'b', 'c');
      await refs[0]!.cancel();
      await until(() => s.seen.cancelled.includes('a'));
      expect(await stillPending(w)).toBe(true);
      s.release('c', { error: 'c broke' });
      const { done, pending } = await w;
      expect(new Set(done)).toEqual(new Set([refs[0], refs[2]]));
      expect([...pending]).toEqual([refs[1]]);
    });

    it('test_wait_first_exception with none: waits for all', async () => {
      const s = await scripted(backend);
      const refs = await Promise.all([s.value(1), s.value(2)]);
      const { done, pending } = await wait(refs, { returnWhen: 'FIRST_EXCEPTION' });
      expect(done.size).toBe(2);
      expect(pending.size).toBe(0);
    });

    it('test_wait_with_timeout: returns what finished by then, cancelling nothing', async () => {
      const s = await scripted(backend);
      const [a, b] = await Promise.all([s.value('a'), s.held('b')]);
      const { done, pending } = await wait([a!, b!], { timeout: 300 });
      expect([...done]).toEqual([a]);
      expect([...pending]).toEqual([b]);
      expect(await b!.state()).toBe('running');
      expect(s.seen.cancelled).toEqual([]);
    });

    it('test_wait_duplicate_coroutines and test_wait_errors', async () => {
      const s = await scripted(backend);
      const a = await s.value('a');
      const { done } = await wait([a, a, a]);
      expect(done.size).toBe(1);
      await expect(wait([])).rejects.toThrow(ConfigError);
      await expect(wait([a], { returnWhen: 'SOMETIMES' as never })).rejects.toThrow(/returnWhen must be one of FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED/);
    });
  });

  describe(`${backend.name}: wait_for (test_tasks: test_wait_for*)`, () => {
    it('test_wait_for: past the deadline the task is cancelled (its handler told) and it rejects TIMEOUT', async () => {
      const s = await scripted(backend);
      const t = await s.held('slow');
      await s.running('slow');
      const err = (await rejection(waitFor(t, 200))) as WaitAborted;
      expect(err).toBeInstanceOf(WaitAborted);
      expect(err.code).toBe('TIMEOUT');
      expect(err.cause).toBeInstanceOf(TaskCancelled);
      await until(() => s.seen.cancelled.includes('slow'));
      expect(await t.state()).toBe('cancelled');
    });

    it('test_wait_for (in time) and test_wait_for_none: the result', async () => {
      const s = await scripted(backend);
      const [a, b] = await Promise.all([s.held('a'), s.held('b')]);
      const inTime = waitFor(a!, 30_000);
      const forEver = waitFor(b!, null);
      s.release('a', { value: 1 });
      s.release('b', { value: 2 });
      expect([await inTime, await forEver]).toEqual([1, 2]);
      expect(s.seen.cancelled).toEqual([]);
    });

    it('test_wait_for_timeout_less_then_0_or_0: a finished task gives its result, an unstarted one is cancelled', async () => {
      const s = await scripted(backend);
      const done = await s.value('v');
      expect(await done.result({ timeout: 10_000 })).toBe('v');
      expect(await waitFor(done, 0)).toBe('v');
      const later = await s.held('later', { delay: 60_000 });
      expect(((await rejection(waitFor(later, -1))) as WaitAborted).code).toBe('TIMEOUT');
      expect(await later.state()).toBe('cancelled');
      expect(s.seen.started).toEqual([]); // _coroutine_do_not_started
    });

    it('cancelling the wait_for (its signal) cancels the task', async () => {
      const s = await scripted(backend);
      const t = await s.held('a');
      await s.running('a');
      const stop = new AbortController();
      const w = waitFor(t, 60_000, { signal: stop.signal });
      stop.abort();
      expect(await rejection(w)).toBeInstanceOf(WaitAborted);
      await until(() => s.seen.cancelled.includes('a'));
    });
  });

  describe(`${backend.name}: as_completed (test_tasks: test_as_completed*)`, () => {
    it('test_as_completed: in finishing order; a failure comes out in its turn', async () => {
      const s = await scripted(backend);
      const refs = await Promise.all(['a', 'b', 'c'].map((k) => s.held(k)));
      await s.running('a', 'b', 'c');
      const order: string[] = [];
      const it = asCompleted(refs);
      s.release('c');
      for await (const r of it) {
        order.push(await (r as TaskRef<string>).result().catch((e: unknown) => `failed: ${(e as TaskFailed).remoteMessage}`));
        if (order.length === 1) s.release('a', { error: 'a broke' });
        if (order.length === 2) s.release('b');
      }
      expect(order).toEqual(['c', 'failed: a broke', 'b']);
    });

    it('test_as_completed_with_timeout: the finished ones, then TIMEOUT; nothing cancelled', async () => {
      const s = await scripted(backend);
      const refs: TaskRef[] = [await s.value('fast'), await s.held('slow')];
      const got: unknown[] = [];
      const err = await (async () => {
        for await (const r of asCompleted(refs, { timeout: 500 })) got.push(await r.result());
      })().catch((e: unknown) => e);
      expect(got).toEqual(['fast']);
      expect((err as WaitAborted).code).toBe('TIMEOUT');
      expect(await refs[1]!.state()).toBe('running');
      expect(s.seen.cancelled).toEqual([]);
    });

    it('test_as_completed_duplicate_coroutines: each task once; nothing gives nothing', async () => {
      const s = await scripted(backend);
      const a = await s.value('a');
      const out: TaskRef[] = [];
      for await (const r of asCompleted([a, a])) out.push(r);
      expect(out).toEqual([a]);
      for await (const r of asCompleted([])) out.push(r);
      expect(out).toHaveLength(1);
      await expect(asCompleted(5 as never).next()).rejects.toThrow(ConfigError); // test_as_completed_invalid_args
    });
  });
}
