// The harness of the tasks-as-futures conformance suite (issue 20): a queue with a worker whose
// handlers the test drives by hand. A `held` task starts, notes it, and waits until the test
// releases it with a value or an error, or until its ctx.signal aborts; so every case says what
// ran, what was cancelled (the handler saw its signal abort with TaskCancelled) and what finished,
// with no race on timing.
import { TaskCancelled, type AsyncQueue, type PutOptions, type TaskRef } from '@asyncq/core';
import { defineHandlers, type Handlers } from '@asyncq/worker';
import { settledWithin } from '../timing.js';

/** A backend: a queue, and a worker running `handlers` on it, both closed after the test. */
export interface FuturesBackend {
  name: string;
  start(handlers: Handlers, concurrency: number): Promise<AsyncQueue<unknown>>;
}

type Outcome = { value: unknown } | { error: string };

/** What the handlers saw, in the order they saw it. */
export interface Seen {
  started: string[];
  cancelled: string[];
  finished: string[];
  failed: string[];
}

/** A queue whose `held` tasks wait for `release`, and whose handlers note what they saw. */
export interface Scripted {
  q: AsyncQueue<unknown>;
  seen: Seen;
  /** Submits a held task named by `k` (its item), to be released by the test. */
  held<R = unknown>(k: string, opts?: PutOptions): Promise<TaskRef<R>>;
  /** Submits a task that returns its item at once. */
  value<R = unknown>(v: R, opts?: PutOptions): Promise<TaskRef<R>>;
  /** Submits a task that fails at once with `message`. */
  boom(message: string, opts?: PutOptions): Promise<TaskRef>;
  /** Submits a held task whose handler ignores its signal, and returns once released. */
  stubborn<R = unknown>(k: string): Promise<TaskRef<R>>;
  /** Lets held task `k` finish with `value`, or fail with `{ error }`. */
  release(k: string, outcome?: Outcome): void;
  /** Resolves once every key has started. */
  running(...ks: string[]): Promise<void>;
}

/** Starts a scripted queue on `backend`. */
export async function scripted(backend: FuturesBackend, concurrency = 16): Promise<Scripted> {
  const seen: Seen = { started: [], cancelled: [], finished: [], failed: [] };
  const gates = new Map<string, { promise: Promise<Outcome>; open(o: Outcome): void }>();
  const gate = (k: string) => {
    let g = gates.get(k);
    if (!g) {
      let open!: (o: Outcome) => void;
      const promise = new Promise<Outcome>((resolve) => (open = resolve));
      g = { promise, open };
      gates.set(k, g);
    }
    return g;
  };
  const handlers = defineHandlers({
    held: async (k, ctx) => {
      const key = k as string;
      seen.started.push(key);
      const outcome = await new Promise<Outcome>((resolve, reject) => {
        const stop = (): void => reject(ctx.signal.reason as Error);
        if (ctx.signal.aborted) stop();
        ctx.signal.addEventListener('abort', stop, { once: true });
        void gate(key).promise.then(resolve);
      }).catch((e: unknown) => {
        if (e instanceof TaskCancelled) seen.cancelled.push(key);
        throw e;
      });
      return finish(key, outcome);
    },
    stubborn: async (k) => {
      const key = k as string;
      seen.started.push(key);
      return finish(key, await gate(key).promise);
    },
    value: async (v) => {
      seen.finished.push(JSON.stringify(v));
      return v;
    },
    boom: async (m) => {
      seen.failed.push(m as string);
      throw new Error(m as string);
    },
  });
  function finish(key: string, outcome: Outcome): unknown {
    if ('error' in outcome) {
      seen.failed.push(key);
      throw new Error(outcome.error);
    }
    seen.finished.push(key);
    return outcome.value;
  }
  const q = await backend.start(handlers, concurrency);
  return {
    q,
    seen,
    held: (k, opts) => q.submit(k, { ...opts, name: 'held' }),
    value: (v, opts) => q.submit(v, { ...opts, name: 'value' }),
    boom: (m, opts) => q.submit(m, { ...opts, name: 'boom' }),
    stubborn: (k) => q.submit(k, { name: 'stubborn' }),
    release: (k, outcome = { value: k }) => gate(k).open(outcome),
    running: (...ks) => until(() => ks.every((k) => seen.started.includes(k))),
  };
}

/** Resolves once `check` holds (polled every 10 ms), or throws after 10 s. */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms: ${String(check)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Whether `p` is still pending after `ms` (used only to show something did NOT happen yet). */
export async function stillPending(p: Promise<unknown>, ms = 100): Promise<boolean> {
  return !(await settledWithin(p, ms));
}

/** The error `p` rejects with (the test fails if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
}
