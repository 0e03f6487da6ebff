import { ConfigError } from './errors.js';
import type { BackoffOptions, PutOptions, QueueOrder } from './types.js';

/** The largest priority asyncq accepts (BullMQ's range, shifted so that 0 is allowed). */
export const MAX_PRIORITY = 2_097_150;

/** The longest delay a Node timer can take at once (about 24.8 days); longer waits are chained. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const ORDERS: readonly QueueOrder[] = ['fifo', 'lifo', 'priority'];

/**
 * Characters a queue name may not contain: ':' and braces (they would break the key layout and its
 * hash tag), '#' (it marks the partitions of a partitioned queue), glob characters (a name must
 * never match another queue's keys in a SCAN), whitespace and control characters.
 */
const BAD_NAME = /[:{}#*?[\]\\\s\x00-\x1f\x7f]/;

/**
 * Throws unless `name` can name a queue (it becomes part of Redis keys and a hash tag, and a path
 * segment of the dashboard's URLs, where `.` and `..` would be resolved away by the browser).
 */
export function checkQueueName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200 || BAD_NAME.test(name) || name === '.' || name === '..') {
    throw new ConfigError(
      `invalid queue name ${safeJson(name)}: use 1-200 characters without ':', '{', '}', '#', glob characters (* ? [ ] \\), whitespace or control characters, and not '.' or '..', e.g. "thumbnails"`,
    );
  }
  return name;
}

/** Throws unless `value` is a whole number in `[min, max]`; `undefined` gives `fallback`. */
export function checkInt(what: string, value: unknown, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`;
    throw new ConfigError(`${what} must be ${range}, got ${safeJson(value)}`);
  }
  return value;
}

/**
 * A wait's `timeout` in ms: `undefined` or `Infinity` mean no timeout; otherwise a number >= 0.
 * Timeouts longer than a Node timer can hold are waited in steps, never cut short.
 */
export function checkTimeout(what: string, value: unknown): number | undefined {
  if (value === undefined || value === Infinity) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new ConfigError(`${what} must be a number of ms >= 0 (or Infinity for none), got ${safeJson(value)}`);
  }
  return value;
}

/** Throws unless `order` is one of the known orders. */
export function checkOrder(order: unknown): QueueOrder {
  if (order === undefined) return 'fifo';
  if (!ORDERS.includes(order as QueueOrder)) {
    throw new ConfigError(`order must be one of ${ORDERS.map((o) => `'${o}'`).join(', ')}, got ${safeJson(order)}`);
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
  /** Ordering key of a partitioned queue: tasks with the same key share a partition. */
  key: string | undefined;
  /** The task's group: groups are served round-robin, each under the queue's perGroup limits. */
  group: string | undefined;
}

/** Validates a put's options; throws {@link ConfigError} naming the bad one. */
/**
 * Task ids that would name one of a queue's own keys (BullMQ's and asyncq's share the job hashes'
 * prefix: a task with such an id would overwrite the key, or be taken for an existing task).
 * asyncq's own keys all hold a ':' (`aq:...`), which ids may not.
 */
export const RESERVED_IDS: ReadonlySet<string> = new Set([
  'wait', 'paused', 'meta', 'id', 'delayed', 'active', 'failed', 'completed', 'prioritized', 'pc', 'waiting-children',
  'events', 'marker', 'stalled', 'stalled-check', 'limiter', 'repeat', 'de', 'metrics', 'priority', 'drained', 'aq',
]);

/**
 * False for an id no task can have (one of the queue's own key names, or one holding ':'): reads
 * and operations by id then find no task, instead of reading a key of another kind.
 */
export function couldBeTaskId(id: string): boolean {
  return typeof id === 'string' && id.length > 0 && !id.includes(':') && !RESERVED_IDS.has(id);
}

export function checkPutOptions(order: QueueOrder, item: unknown, opts: PutOptions | undefined): CheckedPut {
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) {
    throw new ConfigError(`put options must be an object, got ${safeJson(opts)}`);
  }
  const name = opts?.name ?? 'task';
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new ConfigError(`name must be a string of 1-200 characters, got ${safeJson(name)}`);
  }
  const priority = resolvePriority(order, item, opts);
  const delay = checkInt('delay', opts?.delay, 0, 0, 10 * 365 * 24 * 3600 * 1000);
  const attempts = checkInt('attempts', opts?.attempts, 1, 1, 1_000_000);
  const backoff = checkBackoff(opts?.backoff);
  const id = opts?.id;
  if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > 200 || id.includes(':') || /^-?\d+(\.\d+)?$/.test(id))) {
    throw new ConfigError(`id must be a string of 1-200 characters that is not a number and has no ':', got ${safeJson(id)}`);
  }
  if (id !== undefined && RESERVED_IDS.has(id)) {
    throw new ConfigError(`id ${safeJson(id)} is reserved: it names one of the queue's own keys in Redis (${[...RESERVED_IDS].join(', ')}); use another, e.g. a prefix such as "task-${id}"`);
  }
  const key = opts?.key;
  if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 200)) {
    throw new ConfigError(`key must be a string of 1-200 characters, got ${safeJson(key)}`);
  }
  const group = opts?.group;
  if (group !== undefined && (typeof group !== 'string' || !GROUP_NAME.test(group))) {
    throw new ConfigError(
      `invalid group ${safeJson(group)}: use 1-200 characters without ':', '{', '}', whitespace or control characters, e.g. "tenant-42"`,
    );
  }
  return { name, priority, delay, attempts, backoff, id, key, group: group as string | undefined };
}

/** A group name: it is part of Redis key names, so no ':' or braces (hash tags), no spaces or controls. */
const GROUP_NAME = /^[^:{}\s\p{Cc}]{1,200}$/u;

function checkBackoff(b: unknown): BackoffOptions | undefined {
  if (b === undefined) return undefined;
  if (typeof b === 'number') return { type: 'fixed', delay: checkInt('backoff', b, 0, 0, MAX_TIMER_MS) };
  const o = b as Partial<BackoffOptions> | null;
  if (o === null || typeof o !== 'object' || (o.type !== 'fixed' && o.type !== 'exponential')) {
    throw new ConfigError(`backoff must be a number of ms or { type: 'fixed' | 'exponential', delay }, got ${safeJson(b)}`);
  }
  const backoff: BackoffOptions = { type: o.type, delay: checkInt('backoff.delay', o.delay, 0, 0, MAX_TIMER_MS) };
  if (o.jitter !== undefined) {
    if (typeof o.jitter !== 'number' || !(o.jitter >= 0 && o.jitter <= 1)) {
      throw new ConfigError(`backoff.jitter must be a number from 0 to 1, got ${safeJson(o.jitter)}`);
    }
    backoff.jitter = o.jitter;
  }
  return backoff;
}

/** The delay before retry number `attempt` (1 for the first retry), as BullMQ computes it, capped at a timer's range. */
export function backoffDelay(backoff: BackoffOptions | undefined, attempt: number): number {
  if (!backoff) return 0;
  const base = backoff.type === 'fixed' ? backoff.delay : backoff.delay * 2 ** (attempt - 1);
  const jitter = backoff.jitter ?? 0;
  return Math.min(MAX_TIMER_MS, Math.round(jitter > 0 ? base * (1 - jitter) + Math.random() * base * jitter : base));
}

/** The most characters of a value an error message quotes; the rest is cut and counted. */
const MAX_QUOTED = 80;

/**
 * JSON for a value in an error message, whatever it is (a BigInt, a cycle, a Proxy), cut to about
 * {@link MAX_QUOTED} characters: a message echoes what was wrong, not a megabyte of it.
 */
export function safeJson(value: unknown): string {
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value;
  }
  return json.length <= MAX_QUOTED ? json : `${json.slice(0, MAX_QUOTED)}... (${json.length} characters)`;
}
