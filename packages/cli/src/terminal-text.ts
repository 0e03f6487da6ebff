import { shellQuote } from '@asyncq/core/internal';

/**
 * What a terminal must not get raw: C0 and C1 controls (escape sequences included), and the
 * invisible format characters (Unicode Cf: bidi overrides and isolates, zero-width spaces and
 * joiners, the BOM) and line and paragraph separators, which reorder or hide what is shown.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * Text from Redis (task data, error messages, registry entries) and names made safe for a
 * terminal: control characters, escape sequences included, and invisible or reordering ones
 * (U+202E, U+200B, ...) become visible escapes instead of moving the cursor, changing colours or
 * making one name look like another. A line break becomes `\n` too, so one value stays on one line.
 */
export function printable(text: unknown): string {
  return String(text).replace(UNPRINTABLE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/**
 * A command line a message suggests (`asyncq scale <queue> 4`), each word shell-quoted and the
 * whole made printable: pasting it runs that command and nothing a queue name smuggled in.
 */
export function commandHint(...words: string[]): string {
  return printable(words.map((w) => (/^<[a-z-]+>$/.test(w) ? w : shellQuote(w))).join(' '));
}

/** `value` quoted for a message (JSON, printable), cut to `max` characters: an echo, not the whole input. */
export function quoted(value: unknown, max = 80): string {
  const text = printable(JSON.stringify(value) ?? String(value));
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`;
}

/** What output shows instead of a value JSON.stringify cannot write (nested thousands deep). */
export const TOO_DEEP = '(nested too deeply to show)';

/**
 * `value` as JSON for output, or {@link TOO_DEEP}: data written to Redis by hand (or by an old
 * version) can be nested deeper than JSON.stringify's recursion reaches, and one such task must not
 * end a listing of all the others.
 */
export function jsonOrNote(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch {
    return TOO_DEEP;
  }
}

/** `n` and `what`, plural unless n is 1: `1 task`, `3 tasks`. */
export function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** The message of anything thrown, for a one-line report. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
