import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/grammar/durations.js';

describe('parseDuration (no Redis)', () => {
  it('reads units, and bare numbers in the unit the flag always had, with a deprecation line', () => {
    const warned: string[] = [];
    const warn = (l: string): number => warned.push(l);
    expect(parseDuration('500ms', { flag: '--grace', bare: 'ms' })).toBe(500);
    expect(parseDuration('30s', { flag: '--grace', bare: 'ms' })).toBe(30_000);
    expect(parseDuration('5m', { flag: '--timeout', bare: 's' })).toBe(300_000);
    expect(parseDuration('1d', { flag: '--timeout', bare: 's' })).toBe(86_400_000);
    expect(parseDuration('2', { flag: '--timeout', bare: 's', warn })).toBe(2000);
    expect(parseDuration(250, { flag: '--grace', bare: 'ms', warn })).toBe(250);
    expect(warned).toEqual([
      'asyncq: --timeout 2 is read as 2 s; write 2s (numbers without a unit are deprecated)',
      'asyncq: --grace 250 is read as 250 ms; write 250ms (numbers without a unit are deprecated)',
    ]);
  });

  it('refuses what is not a duration, or out of range, naming the flag and the value', () => {
    expect(() => parseDuration('soon', { flag: '--timeout', bare: 's' })).toThrow('--timeout must be a duration such as 500ms, 30s, 5m or 1h, got "soon"');
    expect(() => parseDuration('-5s', { flag: '--timeout', bare: 's' })).toThrow(/--timeout must be a duration/);
    expect(() => parseDuration('5s', { flag: '--lease', bare: 'ms', min: 10_000 })).toThrow('--lease must be between 10 seconds and 3650 days, got "5s"');
  });
});

describe('parseDuration: none and unit-only flags (no Redis)', () => {
  it('none or infinity is no limit where the flag allows it', () => {
    expect(parseDuration('none', { flag: '--timeout', bare: 's', none: true })).toBe(Infinity);
    expect(parseDuration('Infinity', { flag: '--timeout', bare: 's', none: true })).toBe(Infinity);
    expect(() => parseDuration('none', { flag: '--grace', bare: 'ms' })).toThrow('--grace must be a duration such as 500ms, 30s, 5m or 1h, got "none"');
  });

  it('a flag that never took bare numbers asks for a unit; long timeouts stay whole', () => {
    expect(() => parseDuration('5000', { flag: '--lease', bare: 'unit' })).toThrow('--lease needs a unit: write 5000ms or 5s (or 5000s for seconds), got "5000"');
    expect(() => parseDuration('250', { flag: '--lease', bare: 'unit' })).toThrow('--lease needs a unit: write 250ms (or 250s for seconds), got "250"');
    expect(parseDuration('2200000', { flag: '--timeout', bare: 's' })).toBe(2_200_000_000);
    expect(parseDuration('30S', { flag: '--timeout', bare: 's' })).toBe(30_000);
  });
});
