import { MAX_TIMER_MS } from '@asyncq/core/internal';

/** A timer that can be cleared. */
export interface Timer {
  /** Cancels it (nothing happens if it fired). */
  clear(): void;
}

/**
 * `setTimeout` for any delay. A Node timer holds at most about 24.8 days and fires at once (after
 * 1 ms, with a warning) when given more, so longer delays are waited in steps; `Infinity` never fires.
 */
export function longTimeout(fn: () => void, ms: number): Timer {
  let timer: NodeJS.Timeout | undefined;
  const due = Date.now() + ms;
  const arm = (): void => {
    const left = due - Date.now();
    if (left <= MAX_TIMER_MS) timer = setTimeout(fn, Math.max(0, left));
    else timer = setTimeout(arm, MAX_TIMER_MS);
  };
  if (ms !== Infinity) arm();
  return { clear: () => clearTimeout(timer) };
}

/** Resolves after `ms`, or at once when `signal` is aborted. Never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * True once `promise` settles (resolved or rejected), false when `ms` pass first: the promise keeps
 * running. A bounded step of a stop, which never throws and never waits for ever.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The delay before retry `n` (1, 2, ...) of a failing Redis call: exponential from 100 ms to `maxMs`, with jitter. */
export function retryDelay(n: number, maxMs = 5000): number {
  const base = Math.min(maxMs, 100 * 2 ** Math.min(16, Math.max(0, n - 1)));
  return Math.round(base / 2 + (Math.random() * base) / 2);
}
