import { expect, it } from 'vitest';
import { printable } from '../../src/terminal-text.js';

it('escapes control characters and escape sequences, keeping one value on one line (no Redis)', () => {
  expect(printable('boom\u001b[2J\u001b[31mred\u0007\nnext\tcol')).toBe('boom\\x1b[2J\\x1b[31mred\\x07\\nnext\\tcol');
  expect(printable('plain ünïcode 🐎')).toBe('plain ünïcode 🐎');
  expect(printable('\u009b31m')).toBe('\\x9b31m');
});
