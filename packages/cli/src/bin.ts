#!/usr/bin/env node
// The asyncq command. The only place that exits the process.
import { main } from './cli.js';

// `asyncq stats | head`: when the reader closes the pipe, stop quietly, as Unix tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const code = await main(process.argv.slice(2));
// Let piped output drain before exiting: commands may leave timers or handlers running.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(code);
