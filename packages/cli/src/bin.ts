#!/usr/bin/env node
// The asyncq command. The only place that exits the process.
import { main } from './cli.js';

const code = await main(process.argv.slice(2));
// Let piped output drain before exiting: commands may leave timers or handlers running.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(code);
