#!/usr/bin/env node
// Makes a fresh clone runnable on a machine with only Node >= 20 and npm:
// pnpm (the version pinned in package.json), the locked dependencies,
// redis-server (when no REDIS_URL is set), and the tools the tests use (tmux, prometheus,
// docker-compose) when missing, and the build.
// Idempotent and quick when everything is already there. --quiet prints only what it does.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const quiet = process.argv.includes('--quiet');
const say = (msg) => console.log(`setup: ${msg}`);
const fail = (msg) => {
  console.error(`setup: ${msg}`);
  process.exit(1);
};
const has = (cmd, args = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) fail(`\`${cmd} ${args.join(' ')}\` failed (exit ${r.status ?? r.signal})`);
};

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) fail(`Node ${process.versions.node} is too old: install Node 20 or newer`);

const pinned = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).packageManager; // pnpm@x.y.z
if (!has('pnpm')) {
  say(`installing ${pinned} with npm`);
  run('npm', ['install', '--global', pinned]);
  if (!has('pnpm')) fail(`pnpm is installed but not on PATH: add \`npm prefix -g\`/bin to PATH`);
}

const marker = `${root}node_modules/.modules.yaml`;
if (!existsSync(marker) || statSync(`${root}pnpm-lock.yaml`).mtimeMs > statSync(marker).mtimeMs) {
  say('installing dependencies from pnpm-lock.yaml');
  run('pnpm', ['install', '--frozen-lockfile']);
}

// redis-server for the demo and tests (unless REDIS_URL names a Redis); for the tests also tmux
// (they drive `asyncq watch` in it), prometheus/promtool and docker-compose (they check docker/).
const missing = [];
if (!process.env.REDIS_URL && !has('redis-server')) missing.push(['redis-server', 'redis']);
if (!has('tmux', ['-V'])) missing.push(['tmux', 'tmux']);
if (!has('promtool') || !has('prometheus')) missing.push(['prometheus', 'prometheus']);
if (!has('docker-compose', ['version'])) missing.push(['docker-compose', 'docker-compose']);
if (missing.length > 0) {
  const asRoot = process.getuid?.() === 0;
  const names = missing.map(([debian]) => debian);
  if (has('apt-get') && (asRoot || has('sudo', ['-n', 'true']))) {
    say(`installing ${names.join(' and ')} with apt-get (set REDIS_URL to use a Redis you already run)`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const apt = (...args) => (asRoot ? run('apt-get', args, { env }) : run('sudo', ['-n', 'apt-get', ...args], { env }));
    apt('update', '-qq');
    apt('install', '-y', '-qq', ...names);
  } else if (has('brew')) {
    say(`installing ${missing.map(([, brew]) => brew).join(' and ')} with Homebrew`);
    run('brew', ['install', ...missing.map(([, brew]) => brew)]);
  } else {
    fail(`missing ${names.join(' and ')}: install ${names.join(' and ')} (apt-get install ${names.join(' ')}, brew install ${missing.map(([, b]) => b).join(' ')})${names.includes('redis-server') ? ', or set REDIS_URL' : ''}`);
  }
  // The Debian package starts a system Redis; asyncq's demo and tests start their own private server.
}

if (!quiet) say('building');
execFileSync('pnpm', ['--silent', 'build'], { stdio: 'inherit', cwd: root });
if (!quiet) say('ready');
