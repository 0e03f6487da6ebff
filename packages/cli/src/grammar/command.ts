import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { wrapHandler, type CliContext, type GlobalOptions, type WrapOptions } from '../cli-context.js';

/** One command: its usage and summary, its flags, and what it runs. */
export interface CommandSpec<U extends GlobalOptions> {
  /** The usage, e.g. `join <queue>`. */
  command: string;
  /** The line `--help` lists; false hides the command. */
  describe: string | false;
  /** Declares the command's arguments and flags; the types yargs infers from them type `run`'s argv. */
  builder: (y: Argv<GlobalOptions>) => Argv<U>;
  /** The command itself, given the parsed arguments (camelCase keys) and where to write. */
  run: (argv: ArgumentsCamelCase<U>, ctx: CliContext) => Promise<void>;
  /** How a failure names the flags that choose a port or an address. */
  errors?: WrapOptions;
}

/**
 * A yargs command whose handler's argument type is the one its builder declares: a flag renamed,
 * dropped or retyped in the builder is a compile error in `run`, with no cast in between. Every
 * command gets {@link wrapHandler}'s error handling.
 */
export function defineCommand<U extends GlobalOptions>(ctx: CliContext, spec: CommandSpec<U>): CommandModule<GlobalOptions, U> {
  return { command: spec.command, describe: spec.describe, builder: spec.builder, handler: wrapHandler(ctx, spec.run, spec.errors) };
}
