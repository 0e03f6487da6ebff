import { ConfigError } from './errors.js';
import { checkPutOptions, type CheckedPut } from './options.js';
import { encodeJson } from './payload.js';
import type { PutManyItem, PutOptions, QueueOrder } from './types.js';

/** A put that passed every check, with its item already as JSON: what either backend stores. */
export interface PreparedPut {
  readonly opts: CheckedPut;
  readonly json: string;
}

/** The limits a put is checked against. */
export interface PutLimits {
  readonly order: QueueOrder;
  readonly maxPayloadBytes: number;
}

/** Checks one item and its options: a {@link PayloadError} or {@link ConfigError} names what is wrong. */
export function preparePut(limits: PutLimits, item: unknown, opts: PutOptions | undefined): PreparedPut {
  const checked = checkPutOptions(limits.order, item, opts);
  return { opts: checked, json: encodeJson(item, 'item', limits.maxPayloadBytes, 'maxPayloadBytes') };
}

/**
 * Checks every item of a `putMany` before any is added, so a bad one refuses the whole call with
 * nothing enqueued; the error says which item.
 */
export function preparePutMany<T>(limits: PutLimits, items: Iterable<PutManyItem<T>>): PreparedPut[] {
  return [...items].map((entry, i) => {
    try {
      if (entry === null || typeof entry !== 'object' || !('item' in entry)) {
        throw new ConfigError(`expected { item, opts? }, got ${entry === null ? 'null' : typeof entry}`);
      }
      return preparePut(limits, entry.item, entry.opts);
    } catch (e) {
      (e as Error).message = `item ${i}: ${(e as Error).message}`;
      throw e;
    }
  });
}
