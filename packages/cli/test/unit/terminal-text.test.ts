import { expect, it } from 'vitest';
import { commandHint, printable, quoted } from '../../src/terminal-text.js';

it('escapes control characters and escape sequences, keeping one value on one line (no Redis)', () => {
  expect(printable('boom\u001b[2J\u001b[31mred\u0007\nnext\tcol')).toBe('boom\\x1b[2J\\x1b[31mred\\x07\\nnext\\tcol');
  expect(printable('plain ünïcode 🐎')).toBe('plain ünïcode 🐎');
  expect(printable('\u009b31m')).toBe('\\x9b31m');
});

it('escapes bidi overrides, isolates, zero-width characters and separators', () => {
  // "abc" shown reversed by U+202E, a zero-width space and joiner hiding inside names, a BOM.
  expect(printable('q\u202Eabc\u202C')).toBe('q\\u{202e}abc\\u{202c}');
  expect(printable('a\u2066b\u2069c\u200Fd\u061C')).toBe('a\\u{2066}b\\u{2069}c\\u{200f}d\\u{61c}');
  expect(printable('e\u200Bm\u200Ca\u200Di\u2060l\uFEFF')).toBe('e\\u{200b}m\\u{200c}a\\u{200d}i\\u{2060}l\\u{feff}');
  expect(printable('line\u2028para\u2029')).toBe('line\\u{2028}para\\u{2029}');
  expect(printable('\u00AD')).toBe('\\xad');
});

it('shell-quotes every word of a command hint, so pasting it runs nothing a name holds', () => {
  expect(commandHint('asyncq', 'scale', 'emails', '<n>')).toBe('asyncq scale emails <n>');
  expect(commandHint('asyncq', 'scale', 'a;touch${IFS}x', '<n>')).toBe("asyncq scale 'a;touch${IFS}x' <n>");
  expect(commandHint('asyncq', 'resume', "it's$(id)`id`|&>")).toBe(`asyncq resume 'it'\\''s$(id)\`id\`|&>'`);
  expect(commandHint('asyncq', 'reopen', 'q\u202Eevil')).toBe("asyncq reopen 'q\\u{202e}evil'");
});

it('cuts a long value it quotes', () => {
  expect(quoted('x'.repeat(1_048_576))).toBe(`"${'x'.repeat(79)}... (1048578 characters)`);
  expect(quoted('ok')).toBe('"ok"');
});
