import ms from 'ms';
import { CliError } from '../cli-error.js';
import { quoted } from '../terminal-text.js';

/** How to read one duration flag. */
export interface DurationSpec {
  /** The flag as the user typed it, for messages: `--timeout`. */
  flag: string;
  /**
   * What a bare number meant before units (ms or seconds): kept, with a deprecation line. `'unit'`
   * for flags that never took bare numbers: a number without a unit is refused.
   */
  bare: 'ms' | 's' | 'unit';
  /** Smallest allowed, in ms. @defaultValue 0 */
  min?: number;
  /** Largest allowed, in ms. @defaultValue 10 years */
  max?: number;
  /** `none` (or `infinity`) means no limit at all: the result is `Infinity`. @defaultValue false */
  none?: boolean;
  /** Where the deprecation line goes (stderr). */
  warn?: (line: string) => void;
}

const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

/**
 * A duration flag in ms. Every duration accepts units (`500ms`, `30s`, `5m`, `2h`, `1d`); a bare
 * number keeps the meaning the flag had before units (ms or seconds) and prints one line saying
 * how to write it. Anything else is a {@link CliError} naming the flag, the value and examples.
 */
export function parseDuration(raw: unknown, spec: DurationSpec): number {
  const min = spec.min ?? 0;
  const max = spec.max ?? TEN_YEARS_MS;
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
  const got = raw === undefined ? 'nothing' : quoted(typeof raw === 'number' ? String(raw) : raw);
  if (spec.none && /^(none|infinity)$/i.test(text)) return Infinity;
  let value: number | undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    if (spec.bare === 'unit') {
      const other = ms(Number(text));
      throw new CliError(`${spec.flag} needs a unit: write ${text}ms${other === `${text}ms` ? '' : ` or ${other}`} (or ${text}s for seconds), got ${got}`);
    }
    value = Number(text) * (spec.bare === 's' ? 1000 : 1);
    spec.warn?.(`asyncq: ${spec.flag} ${text} is read as ${text} ${spec.bare === 's' ? 's' : 'ms'}; write ${text}${spec.bare} (numbers without a unit are deprecated)`);
  } else if (/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/i.test(text)) {
    value = ms(text.replace(/\s+/g, '').toLowerCase() as ms.StringValue);
  }
  if (value === undefined || !Number.isFinite(value)) {
    throw new CliError(`${spec.flag} must be a duration such as 500ms, 30s, 5m or 1h${spec.none ? ' (or none)' : ''}, got ${got}`);
  }
  if (value < min || value > max) {
    throw new CliError(`${spec.flag} must be between ${ms(min, { long: true })} and ${ms(max, { long: true })}, got ${got}`);
  }
  return Math.round(value);
}

/** A duration as the flags take it: `1.5s`, `2m`, `250ms`. */
export function formatDuration(msValue: number): string {
  if (msValue === Infinity) return 'none';
  return ms(msValue);
}
