/** Characters a shell never reads as anything but part of a word. */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * `word` as one shell word, for a command a message suggests (`asyncq delete 'a;b' --force`):
 * left bare when it holds only characters a shell takes literally, else single-quoted, so pasting
 * the hint can never run what a queue name holds (`;`, `$( )`, backquotes, `&`, `|`, `>`).
 */
export function shellQuote(word: string): string {
  if (PLAIN_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
