import { describe, expect, it } from 'vitest';
import { assertJsonSafe, PayloadError } from '@asyncq/core';

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
