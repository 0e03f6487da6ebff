import { describe, expect, it } from 'vitest';
import { LocalQueue, PayloadError } from '@asyncq/core';
import { assertJsonSafe } from '@asyncq/core/internal';

describe('assertJsonSafe (no Redis)', () => {
  it('accepts plain JSON values and Dates', () => {
    for (const v of [0, 'x', true, null, [1, 'a'], { a: { b: [null] } }, new Date(0)]) expect(() => assertJsonSafe(v)).not.toThrow();
  });

  it('refuses what JSON cannot carry, naming where it is', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const cases: [unknown, RegExp][] = [
      [undefined, /^item is undefined/],
      [{ a: [1, () => 1] }, /^item\.a\[1\] is a function/],
      [{ n: 10n }, /^item\.n is a BigInt/],
      [{ x: Number.NaN }, /^item\.x is the number NaN/],
      [cycle, /^item\.self is a reference back/],
      [new Map(), /^item is a Map/],
    ];
    for (const [value, message] of cases) {
      expect(() => assertJsonSafe(value)).toThrow(PayloadError);
      expect(() => assertJsonSafe(value)).toThrow(message);
    }
  });
});

describe('nesting depth (no Redis)', () => {
  const nested = (depth: number, kind: 'object' | 'array'): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = kind === 'object' ? { a: v } : [v];
    return v;
  };

  it('accepts data nested 1,000 deep, and refuses deeper with a PayloadError, not a RangeError', async () => {
    expect(() => assertJsonSafe(nested(1000, 'object'))).not.toThrow();
    expect(() => assertJsonSafe(nested(1000, 'array'))).not.toThrow();
    for (const depth of [1001, 5000, 100_000]) {
      for (const kind of ['object', 'array'] as const) {
        const err = (() => {
          try {
            assertJsonSafe(nested(depth, kind));
          } catch (e) {
            return e as Error;
          }
          return undefined;
        })();
        expect(err, `${depth} ${kind}`).toBeInstanceOf(PayloadError);
        expect(err!.message).toMatch(/^item[[\]0.a]+\.\.\..* is nested more than 1000 levels deep, which asyncq refuses/);
        expect(err!.message.length).toBeLessThan(400);
      }
    }
    // The same through a queue's put, with nothing enqueued.
    const q = new LocalQueue<unknown>();
    await expect(q.put(nested(5000, 'object'))).rejects.toThrow(PayloadError);
    expect(await q.qsize()).toBe(0);
    await q.close();
  });

  it('bounds a toJSON that returns ever more toJSON', () => {
    const endless = (): unknown => ({ toJSON: endless });
    expect(() => assertJsonSafe(endless())).toThrow(PayloadError);
  });
});
