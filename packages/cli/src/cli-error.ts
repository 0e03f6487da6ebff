import { AsyncqError } from '@asyncq/core';

/** A user mistake the CLI reports as one line, with the exit code to leave. */
export class CliError extends AsyncqError {
  declare readonly code: 'CLI_USAGE';

  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super('CLI_USAGE', message);
  }
}
