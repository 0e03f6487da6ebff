import { isTransient, safeMessage } from '@asyncq/core/internal';

/*
 * Reading anything off a thrown value can throw: a Proxy's traps (even `instanceof` asks its
 * getPrototypeOf trap), a getter. Every read of a value a handler produced goes through these,
 * so that no such value can ever throw inside the worker.
 */

/** `value instanceof type`, false when asking throws. */
export function isA<C extends abstract new (...args: never[]) => unknown>(value: unknown, type: C): value is InstanceType<C> {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/** The `code` property of an error, if it is a string; undefined when reading it throws. */
export function codeOf(value: unknown): string | undefined {
  try {
    const code = (value as { code?: unknown } | null | undefined)?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** core's `isTransient`, false when reading the value throws. */
export function transient(value: unknown): boolean {
  try {
    return isTransient(value);
  } catch {
    return false;
  }
}

/** `value` when it is a genuine Error, else a new Error with its safe message. */
export function asError(value: unknown): Error {
  return isA(value, Error) && !isProxyLike(value) ? value : new Error(safeMessage(value));
}

function isProxyLike(value: Error): boolean {
  try {
    return typeof value.message !== 'string';
  } catch {
    return true;
  }
}
