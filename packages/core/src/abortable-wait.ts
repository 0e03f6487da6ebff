import { WaitAborted } from './errors.js';
import { checkTimeout, MAX_TIMER_MS } from './options.js';
import type { WaitOptions } from './types.js';

/** One party waiting for a value; `settled` turns true the moment it is resolved or rejected. */
export interface Waiter<V> {
  readonly settled: boolean;
  /**
   * An abort that arrived while the waiter's owner was in the middle of serving it (a put whose
   * add is on its way to Redis): the owner settles it afterwards, with the value if it got one,
   * else with this error.
   */
  readonly pendingAbort: WaitAborted | undefined;
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
 * `register` returns the function that unregisters the waiter; it returns
 * `false` when the waiter cannot be withdrawn at that moment, and then the
 * abort is left to the owner as `pendingAbort`.
 *
 * `timeout` is in ms; `Infinity` means none, and a timeout beyond a Node
 * timer's range (about 24.8 days) is waited in steps rather than firing at once.
 */
export function abortableWait<V>(
  what: string,
  opts: WaitOptions | undefined,
  register: (waiter: Waiter<V>) => () => boolean | void,
): Promise<V> {
  const signal = opts?.signal;
  const timeout = checkTimeout(`${what} timeout`, opts?.timeout);
  if (signal?.aborted) return Promise.reject(new WaitAborted(what, 'signal', signal.reason));
  return new Promise<V>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let unregister = (): boolean | void => {};
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const waiter: Waiter<V> & { settled: boolean; pendingAbort: WaitAborted | undefined } = {
      settled: false,
      pendingAbort: undefined,
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
      if (waiter.settled || waiter.pendingAbort) return;
      const error = new WaitAborted(what, reason, cause);
      if (unregister() === false) waiter.pendingAbort = error;
      else waiter.reject(error);
    };
    const onAbort = (): void => abort('signal', signal?.reason);
    unregister = register(waiter);
    if (waiter.settled) return;
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeout !== undefined) {
      const deadline = Date.now() + timeout;
      const arm = (): void => {
        const left = deadline - Date.now();
        timer = setTimeout(left > MAX_TIMER_MS ? arm : () => abort('timeout'), Math.max(0, Math.min(left, MAX_TIMER_MS)));
      };
      arm();
    }
  });
}
