import { ConfigError } from './errors.js';
import type { BackoffOptions, PutOptions, QueueOrder } from './types.js';

/** The largest priority asyncq accepts (BullMQ's range, shifted so that 0 is allowed). */
export const MAX_PRIORITY = 2_097_150;

const ORDERS: readonly QueueOrder[] = ['fifo', 'lifo', 'priority'];

/** Throws unless `name` can name a queue (it becomes part of Redis keys and a hash tag). */
export function checkQueueName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200 || /[:{}\s]/.test(name)) {
    throw new ConfigError(
      `invalid queue name ${JSON.stringify(name)}: use 1-200 characters without ':', '{', '}' or whitespace, e.g. "thumbnails"`,
    );
  }
  return name;
}

/** Throws unless `value` is a whole number in `[min, max]`; `undefined` gives `fallback`. */
export function checkInt(what: string, value: unknown, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`;
    throw new ConfigError(`${what} must be ${range}, got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

/** Throws unless `order` is one of the known orders. */
export function checkOrder(order: unknown): QueueOrder {
  if (order === undefined) return 'fifo';
  if (!ORDERS.includes(order as QueueOrder)) {
    throw new ConfigError(`order must be one of ${ORDERS.map((o) => `'${o}'`).join(', ')}, got ${JSON.stringify(order)}`);
  }
  return order as QueueOrder;
}

/**
 * The priority a put uses: the `priority` option, else (asyncio's
 * `(priority, data)` habit) the item itself when it is a number or an array
 * starting with one. `undefined` when the queue is not a priority queue and
 * no option was given.
 */
export function resolvePriority(order: QueueOrder, item: unknown, opts: PutOptions | undefined): number | undefined {
  let p = opts?.priority;
  if (p === undefined && order === 'priority') {
    if (typeof item === 'number') p = item;
    else if (Array.isArray(item) && typeof item[0] === 'number') p = item[0];
    else {
      throw new ConfigError(
        'a priority queue needs a priority: pass put(item, { priority: n }), or put a number or a [priority, data] array',
      );
    }
  }
  if (p === undefined) return undefined;
  return checkInt('priority', p, 0, 0, MAX_PRIORITY);
}

/** The normalized, validated part of {@link PutOptions} that both backends apply. */
export interface CheckedPut {
  name: string;
  priority: number | undefined;
  delay: number;
  attempts: number;
  backoff: BackoffOptions | undefined;
  id: string | undefined;
}

/** Validates a put's options; throws {@link ConfigError} naming the bad one. */
export function checkPutOptions(order: QueueOrder, item: unknown, opts: PutOptions | undefined): CheckedPut {
  const name = opts?.name ?? 'task';
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new ConfigError(`name must be a string of 1-200 characters, got ${JSON.stringify(name)}`);
  }
  const priority = resolvePriority(order, item, opts);
  const delay = checkInt('delay', opts?.delay, 0);
  const attempts = checkInt('attempts', opts?.attempts, 1, 1, 1_000_000);
  let backoff: BackoffOptions | undefined;
  const b = opts?.backoff;
  if (typeof b === 'number') backoff = { type: 'fixed', delay: checkInt('backoff', b, 0) };
  else if (b !== undefined) {
    if (b === null || typeof b !== 'object' || (b.type !== 'fixed' && b.type !== 'exponential')) {
      throw new ConfigError(`backoff must be a number of ms or { type: 'fixed' | 'exponential', delay }, got ${JSON.stringify(b)}`);
    }
    backoff = { type: b.type, delay: checkInt('backoff.delay', b.delay, 0) };
    if (b.jitter !== undefined) {
      if (typeof b.jitter !== 'number' || !(b.jitter >= 0 && b.jitter <= 1)) {
        throw new ConfigError(`backoff.jitter must be a number from 0 to 1, got ${JSON.stringify(b.jitter)}`);
      }
      backoff.jitter = b.jitter;
    }
  }
  const id = opts?.id;
  if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.includes(':') || /^-?\d+$/.test(id))) {
    throw new ConfigError(`id must be a non-empty string that is not an integer and has no ':', got ${JSON.stringify(id)}`);
  }
  return { name, priority, delay, attempts, backoff, id };
}

/** The delay before retry number `attempt` (1 for the first retry), as BullMQ computes it. */
export function backoffDelay(backoff: BackoffOptions | undefined, attempt: number): number {
  if (!backoff) return 0;
  const base = backoff.type === 'fixed' ? backoff.delay : backoff.delay * 2 ** (attempt - 1);
  const jitter = backoff.jitter ?? 0;
  return Math.round(jitter > 0 ? base * (1 - jitter) + Math.random() * base * jitter : base);
}
