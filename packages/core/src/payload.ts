import { PayloadError } from './errors.js';

const HINT = 'put plain data: strings, finite numbers, booleans, null, arrays and plain objects';

/**
 * How deep arrays and objects may nest in an item or a result. JSON.stringify recurses, so data
 * nested some thousands deep throws a RangeError in whichever process touches it (the producer,
 * the worker, `asyncq inspect`); a fixed bound well inside every stack refuses it at `put` instead.
 */
export const MAX_PAYLOAD_DEPTH = 1000;

/**
 * Throws {@link PayloadError} unless `value` survives a JSON round trip
 * unchanged in meaning. JSON.stringify itself would silently drop or mangle
 * these (a function vanishes, NaN turns into null, a Map into `{}`, a Buffer
 * into `{type, data}`), so a task would run with data the producer never sent.
 */
export function assertJsonSafe(value: unknown, what = 'item'): void {
  if (value === undefined) {
    throw new PayloadError(`${what} is undefined, which JSON cannot carry; ${HINT}`);
  }
  walk(value, what, new Set(), 0);
}

function walk(value: unknown, path: string, stack: Set<object>, depth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(path, `the number ${value}`);
      return;
    case 'bigint':
      fail(path, 'a BigInt', 'convert it to a string or number first');
      return;
    case 'function':
      fail(path, 'a function');
      return;
    case 'symbol':
      fail(path, 'a symbol');
      return;
    case 'undefined':
      fail(path, 'undefined', 'use null, or leave the property out');
      return;
  }
  if (value === null) return;
  const obj = value as object;
  if (stack.has(obj)) fail(path, 'a reference back to one of its own parents (a cycle)');
  if (depth >= MAX_PAYLOAD_DEPTH) {
    throw new PayloadError(`${cutPath(path)} is nested more than ${MAX_PAYLOAD_DEPTH} levels deep, which asyncq refuses (JSON of that depth overflows the stack); flatten it, or pass it as a JSON string`);
  }
  // Binary first: a Buffer has a toJSON of its own, which would turn it into {type, data}. Even
  // these checks read the value (a Proxy's getPrototypeOf trap can throw), so they go through read().
  if (read(() => ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer, path)) {
    fail(path, 'binary data', 'encode it as base64 or an array of numbers first');
  }
  const collection = read(() => (obj instanceof Map ? 'Map' : obj instanceof Set ? 'Set' : obj instanceof WeakMap ? 'WeakMap' : obj instanceof WeakSet ? 'WeakSet' : undefined), path);
  if (collection) fail(path, `a ${collection}`, 'convert it to an array or plain object first');
  const toJSON = read(() => (obj as { toJSON?: unknown }).toJSON, path);
  if (typeof toJSON === 'function') {
    // Dates and other types that define their own JSON form are carried as that form.
    walk(read(() => (toJSON as () => unknown).call(obj), `${path}.toJSON()`), path, stack, depth + 1);
    return;
  }
  if (read(() => Array.isArray(obj), path)) {
    stack.add(obj);
    const arr = obj as unknown[];
    const n = read(() => arr.length, path);
    for (let i = 0; i < n; i++) walk(read(() => arr[i], path), `${path}[${i}]`, stack, depth + 1);
    stack.delete(obj);
    return;
  }
  stack.add(obj);
  for (const [k, v] of read(() => Object.entries(obj), path)) {
    // JSON drops undefined properties; the receiver sees the property absent, which reads the same.
    if (v !== undefined) walk(v, `${path}.${k}`, stack, depth + 1);
  }
  stack.delete(obj);
}

/** Runs a read of the value (a getter, a Proxy trap, a toJSON) that may throw, as a PayloadError. */
function read<R>(get: () => R, path: string): R {
  try {
    return get();
  } catch (e) {
    throw new PayloadError(`${cutPath(path)} threw while being read (${safeMessage(e)}); ${HINT}`);
  }
}

function fail(path: string, what: string, fix = HINT): never {
  throw new PayloadError(`${cutPath(path)} is ${what}, which JSON cannot carry; ${fix}`);
}

/** A path to a value for a message: its start and its end when it is long (deep data, long keys). */
function cutPath(path: string): string {
  return path.length <= 120 ? path : `${path.slice(0, 60)}...${path.slice(-40)} (${path.length} characters)`;
}

/**
 * `value` as JSON, refusing what JSON cannot carry and anything over `limitBytes` (a task's data,
 * or a handler's result), with a message that says what to do instead.
 */
export function encodeJson(value: unknown, what: string, limitBytes: number, limitOption: string): string {
  assertJsonSafe(value, what);
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json);
  if (bytes > limitBytes) {
    throw new PayloadError(
      `${what} is ${formatBytes(bytes)} of JSON, over the ${formatBytes(limitBytes)} limit (${limitOption}); keep large data elsewhere and pass a reference`,
    );
  }
  return json;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}

/** What a failed attempt records: never throws, whatever was thrown (a Proxy, a throwing getter, a cycle). */
export interface ErrorFacts {
  name: string;
  message: string;
  stack: string | undefined;
}

/**
 * Reads an error's name, message and stack from anything thrown, cut to `maxBytes` in all. A
 * hostile value (a Proxy whose traps throw, a `message` getter that throws, a `toJSON` that
 * throws) gives a safe description instead of an exception.
 */
export function describeError(error: unknown, maxBytes = 16_384): ErrorFacts {
  const name = attempt(() => (error instanceof Error && typeof error.name === 'string' ? error.name : 'Error'), 'Error');
  const message = safeMessage(error);
  const stack = attempt(() => (error instanceof Error && typeof error.stack === 'string' ? error.stack : undefined), undefined);
  const cutMessage = cut(message, Math.floor(maxBytes / 4));
  return { name: cut(name, 100), message: cutMessage, stack: stack === undefined ? undefined : cut(stack, maxBytes - cutMessage.length) };
}

/** The message of anything thrown, as a string; never throws. */
export function safeMessage(error: unknown): string {
  return attempt(() => {
    if (error instanceof Error) return typeof error.message === 'string' ? error.message : String(error.message);
    if (typeof error === 'string') return error;
    return JSON.stringify(error) ?? String(error);
  }, attempt(() => `a thrown ${typeof error} that cannot be described`, 'a value that cannot be described'));
}

function attempt<R>(fn: () => R, fallback: R): R {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 15))}... (truncated)`;
}
