// Conformance of taskGroup with asyncio.TaskGroup (CPython Lib/test/test_asyncio/test_taskgroups.py),
// each case ported to tasks that run on a worker and asserting what ran, what was cancelled (the
// handler saw TaskCancelled), and what the group raised.
import { describe, expect, it } from 'vitest';
import { ConfigError, TaskFailed, taskGroup, WaitAborted, type TaskGroup, type TaskRef } from '@asyncq/core';
import { rejection, scripted, until, type FuturesBackend } from './futures-harness.js';

/** The errors of a group's AggregateError, as `name: message` lines. */
function errorsOf(e: unknown): string[] {
  expect(e).toBeInstanceOf(AggregateError);
  return (e as AggregateError).errors.map((x: unknown) => (x instanceof TaskFailed ? `TaskFailed: ${x.remoteMessage}` : `${(x as Error).name}: ${(x as Error).message}`));
}

async function total(q: { counts(): Promise<{ unfinished: number; completed: number; failed: number; cancelled: number }> }): Promise<number> {
  const c = await q.counts();
  return c.unfinished + c.completed + c.failed + c.cancelled;
}

export function groupsConformance(backend: FuturesBackend): void {
  describe(`${backend.name}: taskGroup (test_taskgroups.py)`, () => {
    it('test_taskgroup_01: resolves once every task finished, with what the function returned', async () => {
      const s = await scripted(backend);
      const refs: TaskRef[] = [];
      const p = taskGroup(async (tg) => {
        refs.push(await tg.add(() => s.held('a')), await tg.add(() => s.held('b')));
        return 'body';
      });
      await s.running('a', 'b');
      s.release('b', { value: 2 });
      s.release('a', { value: 1 });
      expect(await p).toBe('body');
      expect(await Promise.all(refs.map((r) => r.result()))).toEqual([1, 2]);
      expect(s.seen.finished.sort()).toEqual(['a', 'b']);
    });

    it('test_taskgroup_02/03: the body awaits a task, then adds another', async () => {
      const s = await scripted(backend);
      let second: TaskRef | undefined;
      const p = taskGroup(async (tg) => {
        const first = await tg.add(() => s.value(1));
        const n = (await first.result()) as number;
        second = await tg.add(() => s.value(n + 1));
      });
      await p;
      expect(await second!.result()).toBe(2);
    });

    it('test_taskgroup_06: a failure cancels the siblings (running ones told, waiting ones never run) and the body', async () => {
      const s = await scripted(backend);
      let signal: AbortSignal | undefined;
      const refs: TaskRef[] = [];
      const p = taskGroup(async (tg) => {
        signal = tg.signal;
        for (const k of ['a', 'b']) refs.push(await tg.add(() => s.held(k)));
        refs.push(await tg.add(() => s.held('c', { delay: 60_000 }))); // not due: it waits
        await s.running('a', 'b');
        s.release('a', { error: 'a broke' });
        await new Promise((_r, reject) => {
          if (tg.signal.aborted) reject(new WaitAborted('body', 'signal'));
          tg.signal.addEventListener('abort', () => reject(new WaitAborted('body', 'signal')));
        });
      });
      expect(errorsOf(await rejection(p))).toEqual(['TaskFailed: a broke']);
      expect(signal?.aborted).toBe(true);
      await until(() => s.seen.cancelled.includes('b'));
      expect(await Promise.all(refs.map((r) => r.state()))).toEqual(['failed', 'cancelled', 'cancelled']);
      await s.q.join({ timeout: 10_000 });
      expect(s.seen.started).toEqual(['a', 'b']);
    });

    it('test_taskgroup_07/09: the body throws: the tasks are cancelled and its error is the group\'s', async () => {
      const s = await scripted(backend);
      const refs: TaskRef[] = [];
      const p = taskGroup(async (tg) => {
        refs.push(await tg.add(() => s.held('a')));
        await s.running('a');
        throw new RangeError('body broke');
      });
      expect(errorsOf(await rejection(p))).toEqual(['RangeError: body broke']);
      expect(s.seen.cancelled).toEqual(['a']);
      expect(await refs[0]!.state()).toBe('cancelled');
    });

    it('test_taskgroup_14: tasks that failed before the group noticed are all in its error', async () => {
      const s = await scripted(backend);
      const x = await s.boom('x broke');
      const y = await s.boom('y broke');
      await Promise.all([x, y].map((r) => r.result({ timeout: 10_000 }).catch(() => null)));
      const e = await rejection(
        taskGroup(async (tg) => {
          await tg.adopt(x);
          await tg.adopt(y);
        }),
      );
      expect(errorsOf(e).sort()).toEqual(['TaskFailed: x broke', 'TaskFailed: y broke']);
    });

    it('test_taskgroup_15/17: cancelling the group (its signal) cancels every task and rejects WaitAborted', async () => {
      const s = await scripted(backend);
      const stop = new AbortController();
      const p = taskGroup(
        async (tg) => {
          await tg.add(() => s.held('a'));
          await tg.add(() => s.held('b'));
        },
        { signal: stop.signal },
      );
      await s.running('a', 'b');
      stop.abort();
      expect(await rejection(p)).toBeInstanceOf(WaitAborted);
      await until(() => s.seen.cancelled.length === 2);
      expect(s.seen.finished).toEqual([]);
    });

    it('a task cancelled by someone else is not a failure of the group', async () => {
      const s = await scripted(backend);
      const p = taskGroup(async (tg) => {
        const a = await tg.add(() => s.held('a'));
        await tg.add(() => s.held('b'));
        await s.running('a', 'b');
        await a.cancel({ reason: 'outside' });
        s.release('b');
      });
      await p;
      expect(s.seen.cancelled).toEqual(['a']);
      expect(s.seen.finished).toEqual(['b']);
    });

    it('test_taskgroup_11/12: an inner group\'s failure fails the outer one, and cancels its tasks', async () => {
      const s = await scripted(backend);
      const p = taskGroup(async (outer) => {
        await outer.add(() => s.held('outer'));
        await s.running('outer');
        await taskGroup(async (inner) => {
          await inner.add(() => s.held('inner'));
          await s.running('inner');
          s.release('inner', { error: 'inner broke' });
        });
      });
      const e = await rejection(p);
      const inner = (e as AggregateError).errors[0] as AggregateError;
      expect(errorsOf(inner)).toEqual(['TaskFailed: inner broke']);
      await until(() => s.seen.cancelled.includes('outer'));
    });

    it('an empty group resolves with the function\'s value', async () => {
      expect(await taskGroup(async () => 42)).toBe(42);
    });

    it('test_taskgroup_cancel_*: a group shutting down, or finished, takes no new task, and puts nothing', async () => {
      const s = await scripted(backend);
      let kept: TaskGroup | undefined;
      let refused: unknown;
      const p = taskGroup(async (tg) => {
        kept = tg;
        await tg.add(() => s.boom('first'));
        await until(() => tg.signal.aborted);
        refused = await rejection(tg.add(() => s.held('too late')));
      });
      expect(errorsOf(await rejection(p))).toEqual(['TaskFailed: first']);
      expect((refused as Error).message).toMatch(/this task group is shutting down/);
      expect(await rejection(kept!.add(() => s.held('after')))).toBeInstanceOf(ConfigError);
      expect(await total(s.q)).toBe(1);
      expect(await rejection(taskGroup('no' as never))).toBeInstanceOf(ConfigError);
      expect(s.seen.cancelled).toEqual([]);
    });
  });
}
