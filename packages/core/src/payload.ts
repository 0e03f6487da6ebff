import { PayloadError } from './errors.js';

const HINT = 'put plain data: strings, finite numbers, booleans, null, arrays and plain objects';

/**
 * Throws {@link PayloadError} unless `value` survives a JSON round trip
 * unchanged in meaning. JSON.stringify itself would silently drop or mangle
 * these (a function vanishes, NaN turns into null, a Map into `{}`), so a task
 * would run with data the producer never sent.
 */
export function assertJsonSafe(value: unknown, what = 'item'): void {
  if (value === undefined) {
    throw new PayloadError(`${what} is undefined, which JSON cannot carry; ${HINT}`);
  }
  walk(value, what, new Set());
}

function walk(value: unknown, path: string, stack: Set<object>): void {
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
  if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
    // Dates and other types that define their own JSON form are carried as that form.
    walk((obj as { toJSON: () => unknown }).toJSON(), path, stack);
    return;
  }
  if (obj instanceof Map || obj instanceof Set || obj instanceof WeakMap || obj instanceof WeakSet) {
    fail(path, `a ${obj.constructor.name}`, 'convert it to an array or plain object first');
  }
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) {
    fail(path, 'binary data', 'encode it as base64 or an array of numbers first');
  }
  stack.add(obj);
  if (Array.isArray(obj)) {
    obj.forEach((v, i) => walk(v, `${path}[${i}]`, stack));
  } else {
    for (const [k, v] of Object.entries(obj)) {
      // JSON drops undefined properties; the receiver sees the property absent, which reads the same.
      if (v !== undefined) walk(v, `${path}.${k}`, stack);
    }
  }
  stack.delete(obj);
}

function fail(path: string, what: string, fix = HINT): never {
  throw new PayloadError(`${path} is ${what}, which JSON cannot carry; ${fix}`);
}
