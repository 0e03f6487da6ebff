#!/usr/bin/env node
// The asyncq command. The only place that exits the process.
import { debugEnabled, redactSecrets } from './cli-context.js';
import { main } from './cli.js';

// `asyncq stats | head`: when the reader closes the pipe, stop quietly, as Unix tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

// Whatever escapes a command (a rejection no one awaited) is still one line, with the stack only
// under ASYNCQ_DEBUG, and never a password.
const crash = (e: unknown): never => {
  const err = e as Error;
  const detail = debugEnabled() ? `\n${err?.stack ?? ''}` : ' (set ASYNCQ_DEBUG=1 for details)';
  process.stderr.write(`${redactSecrets(`asyncq: unexpected error: ${err?.message ?? String(e)}${detail}`)}\n`);
  process.exit(1);
};
// A worker runs a guard of its own that fails just the task whose code threw: then it decides.
const unlessGuarded =
  (event: 'uncaughtException' | 'unhandledRejection') =>
  (e: unknown): void => {
    if (process.listenerCount(event) === 1) crash(e);
  };
// asyncq's own warnings (a Redis that may evict keys) are one line like every other message;
// Node's default printer would add its "(node:PID)" prefix and a hint about --trace-warnings.
process.removeAllListeners('warning');
process.on('warning', (w: Error & { code?: string }) => {
  const text = w.code?.startsWith('ASYNCQ_') ? `asyncq: warning: ${w.message}` : `(node:${process.pid}) ${w.name}: ${w.message}`;
  process.stderr.write(`${redactSecrets(text)}\n`);
});
process.on('uncaughtException', unlessGuarded('uncaughtException'));
process.on('unhandledRejection', unlessGuarded('unhandledRejection'));

const code = await main(process.argv.slice(2)).catch(crash);
// Let piped output drain before exiting: commands may leave timers or handlers running.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(code);
