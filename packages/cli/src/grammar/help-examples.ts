import type { Argv } from 'yargs';

/** The widest help line an example may take: yargs' width for a pipe and a narrow terminal. */
const WIDTH = 78;

/**
 * Adds `examples` (a command line with `$0` for `asyncq`, and what it does) to a command's help as
 * one column: `asyncq fleet ./h.js -q emails --lease 30s  # a dead worker's tasks back in ~30 s`,
 * the comments aligned, or on a line of their own above a command too long to share one. yargs'
 * own two columns give the command at most half the width and break it mid-word (`--a` /
 * `utoscale 1,8`), in `--help` and in docs/cli.md alike.
 */
export function withExamples<T>(y: Argv<T>, examples: readonly (readonly [command: string, what?: string])[]): Argv<T> {
  const shown = (c: string): number => c.replaceAll('$0', 'asyncq').length;
  const fits = examples.filter(([c, w]) => !w || shown(c) + 4 + w.length + 2 <= WIDTH);
  const column = Math.max(0, ...fits.filter(([, w]) => w).map(([c]) => shown(c)));
  let out = y;
  for (const [command, what] of examples) {
    if (!what) out = out.example(command, '');
    else if (column + 4 + what.length + 2 <= WIDTH && shown(command) <= column) out = out.example(`${command}${' '.repeat(column - shown(command))}  # ${what}`, '');
    else out = out.example(`# ${what}:`, '').example(command, '');
  }
  return out;
}
