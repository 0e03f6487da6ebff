#!/usr/bin/env node
// Prints docs/cli.md: the `--help` of every asyncq command, so the reference is what the CLI says.
// `pnpm docs:cli` regenerates it; a test fails when it is out of date. The commands run in this
// one process (a process per command took a minute on a busy machine), at yargs' width for a pipe.
import { main } from '../packages/cli/dist/index.js';

if (process.stdout.isTTY) Object.defineProperty(process.stdout, 'columns', { value: undefined });
const write = process.stdout.write.bind(process.stdout);

async function help(...args) {
  let text = '';
  process.stdout.write = (chunk) => ((text += String(chunk)), true);
  try {
    await main([...args, '--help']);
  } finally {
    process.stdout.write = write;
  }
  return text.trimEnd();
}

const top = await help();
// Every command `asyncq --help` lists, in its order (so a new command needs no change here).
const commands = [...top.matchAll(/^ {2}asyncq (\S+)/gm)].map((m) => m[1]).filter((c) => c !== 'completion');
const out = ['# asyncq command reference', '', 'Generated from `asyncq <command> --help` by `pnpm docs:cli`.', '', '```', top, '```'];
for (const c of commands) out.push('', `## asyncq ${c}`, '', '```', await help(c), '```');
console.log(out.join('\n'));
