/**
 * What a user must never see from an asyncq process, whatever happened to Redis or the input:
 * a stack trace, the CLI's "unexpected error" (a bug, not a reported condition), or a raw ioredis
 * error that leaked through instead of one asyncq line.
 */
const RULES: [string, RegExp][] = [
  ['a stack trace', /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m],
  ['"unexpected error"', /unexpected error/i],
  ['a raw ioredis MaxRetriesPerRequestError', /MaxRetriesPerRequestError|Reached the max retries per request limit/i],
  ['a raw ioredis "Connection is closed"', /Connection is closed\./],
  ['a Node crash report', /^(Uncaught|node:internal|Error \[ERR_|TypeError:|ReferenceError:|SyntaxError:|RangeError:)/m],
  ['a fatal V8 error', /FATAL ERROR|JavaScript heap out of memory/],
];

/** The problems found in `text`, each as "<what>: <the offending line>"; empty when clean. */
export function outputProblems(text: string): string[] {
  const out: string[] = [];
  for (const [what, re] of RULES) {
    const m = re.exec(text);
    if (m) {
      const start = text.lastIndexOf('\n', m.index) + 1;
      const end = text.indexOf('\n', m.index);
      out.push(`${what}: ${text.slice(start, end === -1 ? undefined : end).trim().slice(0, 200)}`);
    }
  }
  return out;
}

/** Non-empty lines of `text`. */
export function linesOf(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}
