import { AsyncqError, type ConnectionOption } from '@asyncq/core';

/** Options every command has. */
export interface GlobalOptions {
  redisUrl?: string;
  prefix: string;
}

/** Where a command writes, and the exit code it leaves; tests run commands with their own. */
export interface CliContext {
  out(line: string): void;
  err(line: string): void;
  /** True when stdout is a terminal: live views and progress bars, else plain lines. */
  readonly tty: boolean;
  exitCode: number;
}

/** The process's own streams. */
export function processContext(): CliContext {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    tty: Boolean(process.stdout.isTTY),
    exitCode: 0,
  };
}

/** Configuration precedence: the --redis-url flag, then ASYNCQ_REDIS_URL (yargs' env), then REDIS_URL. */
export function connectionOf(argv: GlobalOptions): ConnectionOption {
  return argv.redisUrl || process.env.REDIS_URL || 'redis://127.0.0.1:6379'; // an empty value counts as unset
}

/** A user mistake the CLI reports as one line, with the exit code to leave. */
export class CliError extends AsyncqError {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super('CLI_USAGE', message);
  }
}

/**
 * Gives every command the same error handling: an asyncq error (a user mistake, an unreachable
 * Redis) is one line and exit code 1 (or the CliError's); anything else is reported as a bug, with
 * the stack only when ASYNCQ_DEBUG is set.
 */
export function wrapHandler<A>(ctx: CliContext, run: (argv: A, ctx: CliContext) => Promise<void>): (argv: A) => Promise<void> {
  return async (argv) => {
    try {
      await run(argv, ctx);
    } catch (e) {
      if (e instanceof AsyncqError) {
        ctx.err(`asyncq: ${e.message}`);
        ctx.exitCode = e instanceof CliError ? e.exitCode : 1;
        return;
      }
      const err = e as Error;
      ctx.err(`asyncq: unexpected error: ${err?.message ?? String(e)}${process.env.ASYNCQ_DEBUG ? `\n${err?.stack}` : ' (set ASYNCQ_DEBUG=1 for details)'}`);
      ctx.exitCode = 1;
    }
  };
}

/** Parses a whole number argument, or throws a CliError saying what is allowed. */
export function wholeNumber(what: string, value: unknown, min = 0): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${what} must be a whole number >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** Resolves after the first SIGTERM or SIGINT, once `stop` has run: long-running commands end this way. */
export function untilStopSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise<void>((done) => {
    const onSignal = (): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      void stop().then(done);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
