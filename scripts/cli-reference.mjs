#!/usr/bin/env node
// Prints docs/cli.md: the `--help` of every asyncq command, so the reference is what the CLI says.
// `pnpm docs:cli` regenerates it; a test fails when it is out of date.
import { execFileSync } from 'node:child_process';

const bin = new URL('../packages/cli/dist/bin.js', import.meta.url).pathname;
const help = (...args) =>
  execFileSync(process.execPath, [bin, ...args, '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '100' } })
    .trimEnd()
    .replaceAll(/\$0|node \S+bin\.js/g, 'asyncq');
// Every command `asyncq --help` lists, in its order (so a new command needs no change here).
const commands = [...help().matchAll(/^ {2}asyncq (\S+)/gm)].map((m) => m[1]).filter((c) => c !== 'completion');
const out = ['# asyncq command reference', '', 'Generated from `asyncq <command> --help` by `pnpm docs:cli`.', '', '```', help(), '```'];
for (const c of commands) out.push('', `## asyncq ${c}`, '', '```', help(c), '```');
console.log(out.join('\n'));
