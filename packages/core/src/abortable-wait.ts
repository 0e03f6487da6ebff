import { WaitAborted } from './errors.js';
import type { WaitOptions } from './types.js';

/** One party waiting for a value; `settled` turns true the moment it is resolved or rejected. */
export interface Waiter<V> {
  readonly settled: boolean;
  resolve(value: V): void;
  reject(error: unknown): void;
}

/**
 * Waits for `register`'s waiter to be resolved, or for `signal`/`timeout`.
 *
 * Handing a value to a waiter and marking it settled happen in one
 * synchronous step, so an abort either happens before the hand-off (the
 * waiter is unregistered and the value goes to someone else) or after it (the
 * value is delivered and the abort ignored): never lost, never duplicated.
 * `register` returns the function that unregisters the waiter.
 */
export function abortableWait<V>(
  what: string,
  opts: WaitOptions | undefined,
  register: (waiter: Waiter<V>) => () => void,
): Promise<V> {
  const signal = opts?.signal;
  if (signal?.aborted) return Promise.reject(new WaitAborted(what, 'signal', signal.reason));
  return new Promise<V>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let unregister = (): void => {};
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const waiter = {
      settled: false,
      resolve(value: V) {
        if (waiter.settled) return;
        waiter.settled = true;
        cleanup();
        resolve(value);
      },
      reject(error: unknown) {
        if (waiter.settled) return;
        waiter.settled = true;
        cleanup();
        reject(error);
      },
    };
    const abort = (reason: 'signal' | 'timeout', cause?: unknown): void => {
      if (waiter.settled) return;
      unregister();
      waiter.reject(new WaitAborted(what, reason, cause));
    };
    const onAbort = (): void => abort('signal', signal?.reason);
    unregister = register(waiter);
    if (waiter.settled) return;
    signal?.addEventListener('abort', onAbort, { once: true });
    if (opts?.timeout !== undefined) timer = setTimeout(() => abort('timeout'), opts.timeout);
  });
}

/** Removes `item` from `list` if present (waiter lists are short). */
export function removeFrom<X>(list: X[], item: X): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
