import { createInterface } from 'node:readline';
import { CliError } from '../cli-error.js';

/** The `--yes` option of commands that ask before removing anything. */
export const yesOption = { alias: 'y', type: 'boolean', describe: 'do not ask (needed without a terminal)' } as const;

/**
 * Refuses at once, before anything is read or changed, when a confirmation will be needed and no
 * one can give it: no `--yes` and stdin is not a terminal (a script, a pipe, CI).
 */
export function requireConfirmable(argv: { yes?: boolean }, command: string): void {
  if (argv.yes || process.stdin.isTTY) return;
  throw new CliError(`asyncq ${command} asks for confirmation and stdin is not a terminal: pass --yes to ${command} without asking`);
}

/**
 * Asks `question` on the terminal (the prompt goes to stderr, so stdout stays the command's
 * output) unless `--yes`; anything but y or yes is a {@link CliError} saying nothing was done.
 */
export async function confirm(argv: { yes?: boolean }, command: string, question: string, declined: string): Promise<void> {
  if (argv.yes) return;
  requireConfirmable(argv, command);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string>((resolve) => {
    rl.once('close', () => resolve('')); // Ctrl-D: no
    rl.question(`${question} [y/N] `, resolve);
  });
  rl.close();
  process.stdin.pause();
  if (!/^y(es)?$/i.test(answer.trim())) throw new CliError(declined);
}
