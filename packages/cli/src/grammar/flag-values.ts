import { CliError } from '../cli-error.js';
import { quoted } from '../terminal-text.js';

/**
 * A value that must be one of `allowed`, or a {@link CliError} naming the flag, the value given
 * and every allowed value.
 */
export function oneOf<T extends string>(flag: string, raw: unknown, allowed: readonly T[]): T {
  if (typeof raw === 'string' && (allowed as readonly string[]).includes(raw)) return raw as T;
  throw new CliError(`${flag} must be one of ${allowed.join(', ')}; got ${raw === undefined ? 'nothing' : quoted(raw)}`);
}

/** A comma-separated list of values each in `allowed` (`waiting,delayed`), without repeats. */
export function listOf<T extends string>(flag: string, raw: unknown, allowed: readonly T[]): T[] {
  const text = Array.isArray(raw) ? raw.join(',') : raw;
  if (typeof text !== 'string' || text.trim() === '') throw new CliError(`${flag} takes a comma-separated list of ${allowed.join(', ')}; got ${raw === undefined ? 'nothing' : quoted(raw)}`);
  const out: T[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    if (!(allowed as readonly string[]).includes(part)) {
      throw new CliError(`${flag} takes a comma-separated list of ${allowed.join(', ')}; ${quoted(part)} is not one of them`);
    }
    if (!out.includes(part as T)) out.push(part as T);
  }
  return out;
}

/**
 * The yargs spelling of a numeric option: no `type: 'number'`, so that a wrong value reaches the
 * command as typed (`-c abc` says "abc", not NaN) and is checked there with its bounds.
 */
export function numberOption<E extends { alias?: string; default?: number }>(describe: string, extra?: E): { describe: string; requiresArg: true } & E;
export function numberOption(describe: string, extra: { alias?: string; default?: number } = {}): { describe: string; requiresArg: true } {
  return { describe, requiresArg: true, ...extra };
}

/** The yargs spelling of a duration option: text, read by parseDuration. */
export function durationOption<E extends { alias?: string; default?: string }>(describe: string, extra?: E): { describe: string; type: 'string'; requiresArg: true } & E;
export function durationOption(describe: string, extra: { alias?: string; default?: string } = {}): { describe: string; type: 'string'; requiresArg: true } {
  return { describe, type: 'string', requiresArg: true, ...extra };
}
