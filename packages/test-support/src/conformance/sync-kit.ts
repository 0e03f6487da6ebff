// The behaviour cases of CPython's Lib/test/test_asyncio/test_locks.py (Lock, Event, Condition,
// Semaphore, BoundedSemaphore, Barrier), ported to asyncq's primitives across processes. Handles
// of the same name stand for processes; where asyncio shares one object between coroutines, so do
// these tests (one handle shared by callers behaves as one asyncio object). repr and event-loop
// internals are left out. asyncio's `await asyncio.sleep(0)` ("let the others run") becomes waiting
// until Redis shows the state the case needs (a waiter queued), so no case depends on timing.
// Where an abort races a hand-off, Redis's order decides (see grant-waits.ts), and the cases
// assert the invariant both outcomes keep: never two holders, nothing lost.
import { expect, it } from 'vitest';
import { uniqueName } from '../names.js';
import { eventually as eventuallyWithin } from '../timing.js';
import { Barrier, BoundedSemaphore, Condition, Event, Lock, Semaphore, type PrimitiveOptions } from '@asyncq/core';
import { syncKeys, type SyncKind } from '@asyncq/core/internal';

/** Where a conformance run keeps its primitives. */
export interface SyncBackend {
  name: string;
  /** Options every handle is opened with (its connection). */
  options(): PrimitiveOptions;
  /** Closes `c` after the test; the connections of `tag` (`lock:name`) must be gone then, and its keys are removed. */
  track<C extends { close(): Promise<void> }>(c: C, tag: string): C;
  /** Reads Redis, for the cases that wait until a waiter is queued. */
  redis(): { zcard(key: string): Promise<number> };
}

// The primitives' waits hop through Redis several times: a longer default bound than the shared one.
export const eventually = (check: () => Promise<void> | void, ms = 10_000): Promise<void> => eventuallyWithin(check, ms);

/** A promise whose state can be read synchronously. */
export function watch<T>(p: Promise<T>): { p: Promise<T>; done: boolean; value?: T; error?: unknown } {
  const w: { p: Promise<T>; done: boolean; value?: T; error?: unknown } = { p, done: false };
  p.then(
    (v) => Object.assign(w, { done: true, value: v }),
    (e: unknown) => Object.assign(w, { done: true, error: e }),
  );
  return w;
}

/** `fn` rejects with an error of class `cls` (and, when given, this code). */
export async function rejects(fn: () => Promise<unknown>, cls: abstract new (...args: never[]) => Error, code?: string): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    if (code) expect((e as { code?: string }).code).toBe(code);
    return e as Error;
  }
  throw new Error(`expected a ${cls.name}, but it resolved`);
}

/** The factories every part of the suite opens its primitives with, each tracked by the backend. */
export function syncKit(backend: SyncBackend) {
  const name = uniqueName;
  const opts = (): PrimitiveOptions => backend.options();
  const lock = (n: string): Lock => backend.track(new Lock(n, opts()), `lock:${n}`);
  const event = (n: string): Event => backend.track(new Event(n, opts()), `event:${n}`);
  const cond = (n: string, o: { lock?: Lock } = {}): Condition => backend.track(new Condition(n, { ...opts(), ...o }), `cond:${n}`);
  const sem = (n: string, value?: number): Semaphore => backend.track(new Semaphore(n, { ...opts(), value }), `sem:${n}`);
  const bsem = (n: string, value?: number): BoundedSemaphore => backend.track(new BoundedSemaphore(n, { ...opts(), value }), `sem:${n}`);
  const barrier = (n: string, parties: number): Barrier => backend.track(new Barrier(n, { ...opts(), parties }), `barrier:${n}`);
  /** Waits until `n` waits are queued in Redis for primitive `kind:name`. */
  const queued = (kind: SyncKind, n: string, count: number, key: 'queue' | 'members' = 'queue'): Promise<void> =>
    eventually(async () => expect(await backend.redis().zcard(syncKeys('asyncq', kind, n)[key])).toBe(count));

  return { name, opts, lock, event, cond, sem, bsem, barrier, queued };
}

export type SyncKit = ReturnType<typeof syncKit>;
