#!/usr/bin/env node
// Makes a fresh clone runnable on a machine with only Node >= 20 and npm, installing only what the
// purpose needs (TOOLS below lists the system tools):
//   --for demo   what `npm run demo` (and demo:core, bench:*) needs: pnpm (the version pinned in
//                package.json), the locked dependencies, redis-server when it is missing and no
//                REDIS_URL is set, and the build;
//   --for test   what `npm test` needs: the same, and the tools the tests use when missing (tmux,
//                prometheus with promtool, chromium, faketime, podman and its helpers). The default
//                (`npm run setup`).
// System tools come from apt-get (as root or with passwordless sudo), else Homebrew.
// Idempotent and quick when everything is already there. --quiet prints only what it does.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Runs `cmd args` and tells whether it exits 0 (a missing command does not). */
export const has = (cmd, args = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

/**
 * The system tools, each with the purposes that need it, how to tell it is there, and its package
 * names. Prefer none: a tool that an npm package or the repository itself provides does not belong
 * here (compose files, for one, are checked by docker/test/compose-check.ts, not docker-compose,
 * whose Debian package pulls in the Docker engine).
 */
export const TOOLS = [
  {
    name: 'redis-server',
    for: ['demo', 'test'],
    why: 'the demo and the tests start a private Redis (set REDIS_URL to use one you run)',
    present: (probe, env) => Boolean(env.REDIS_URL) || probe('redis-server'),
    apt: ['redis-server'],
    brew: ['redis'],
  },
  {
    name: 'tmux',
    for: ['test'],
    why: 'the tests drive `asyncq watch` in it',
    present: (probe) => probe('tmux', ['-V']),
    apt: ['tmux'],
    brew: ['tmux'],
  },
  {
    name: 'prometheus',
    for: ['test'],
    why: 'the tests check docker/prometheus with promtool and scrape a worker with prometheus',
    present: (probe) => probe('promtool') && probe('prometheus'),
    apt: ['prometheus'],
    brew: ['prometheus'],
  },
  {
    name: 'chromium',
    for: ['test'],
    why: 'the browser tests of `asyncq dashboard` drive it (playwright-core, no browser download)',
    present: (probe) => ['chromium', 'chromium-browser', 'google-chrome'].some((c) => probe(c)),
    apt: ['chromium'],
    brew: ['--cask', 'chromium'],
  },
  {
    name: 'faketime',
    for: ['test'],
    why: 'the chaos suite runs a worker with its clock 30 s ahead and behind (libfaketime, LD_PRELOAD)',
    present: (probe) => probe('faketime', ['--version']),
    apt: ['faketime'],
    brew: ['libfaketime'],
  },
  {
    name: 'podman',
    for: ['test'],
    why: 'the container tests build the image and run it, the compose stack and the Kubernetes manifests, and start Redis through testcontainers',
    // runc (crun fails on hybrid cgroups), catatonit (a pod's infra container), the CNI dnsname plugin
    // (compose services find each other by name), iptables (published ports), and debootstrap for
    // docker/local-bases.sh. Homebrew's podman runs a Linux VM that pulls the official images instead.
    present: (probe) =>
      probe('podman') &&
      probe('podman-compose') &&
      (process.platform !== 'linux' ||
        ['runc', 'catatonit', 'iptables', 'debootstrap', '/usr/lib/cni/dnsname'].every((c) => probe(c))),
    apt: ['podman', 'runc', 'catatonit', 'golang-github-containernetworking-plugin-dnsname', 'iptables', 'podman-compose', 'debootstrap'],
    brew: ['podman', 'podman-compose'],
  },
];

/** The purposes setup knows: what `npm run demo` needs, and what `npm test` needs. */
export const PURPOSES = ['demo', 'test'];

/**
 * The tools `purpose` needs that are missing.
 * @param {'demo' | 'test'} purpose
 * @param {{ probe?: (cmd: string, args?: string[]) => boolean, env?: Record<string, string | undefined> }} [opts]
 */
export function missingTools(purpose, { probe = has, env = process.env } = {}) {
  if (!PURPOSES.includes(purpose)) throw new Error(`unknown purpose ${purpose}: one of ${PURPOSES.join(', ')}`);
  return TOOLS.filter((t) => t.for.includes(purpose) && !t.present(probe, env));
}

// Run as a script (`node scripts/setup.mjs`); test/unit/setup.test.ts imports the tool list alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) setup();

function setup() {
  const root = new URL('..', import.meta.url).pathname;
  const args = process.argv.slice(2);
  const quiet = args.includes('--quiet');
  const purpose = args.includes('--for') ? args[args.indexOf('--for') + 1] : 'test';
  const say = (msg) => console.log(`setup: ${msg}`);
  const fail = (msg) => {
    console.error(`setup: ${msg}`);
    process.exit(1);
  };
  const run = (cmd, cmdArgs, opts = {}) => {
    const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', cwd: root, ...opts });
    if (r.status !== 0) fail(`\`${cmd} ${cmdArgs.join(' ')}\` failed (exit ${r.status ?? r.signal})`);
  };

  if (!PURPOSES.includes(purpose)) fail(`--for takes one of ${PURPOSES.join(', ')}, not ${purpose ?? 'nothing'}`);
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

  const missing = missingTools(purpose);
  if (missing.length > 0) {
    const names = missing.map((t) => t.name).join(', ');
    const asRoot = process.getuid?.() === 0;
    if (has('apt-get') && (asRoot || has('sudo', ['-n', 'true']))) {
      const packages = missing.flatMap((t) => t.apt);
      say(`installing ${packages.join(' ')} with apt-get: ${missing.map((t) => `${t.name} because ${t.why}`).join('; ')}`);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      // With --quiet only apt-get's errors show: dpkg's line per unpacked package is noise in a CI log.
      const stdio = ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'];
      const apt = (...aptArgs) => (asRoot ? run('apt-get', aptArgs, { env, stdio }) : run('sudo', ['-n', 'apt-get', ...aptArgs], { env, stdio }));
      apt('update', '-qq');
      // No recommends: prometheus's would add a node exporter daemon, which no test uses.
      apt('install', '-y', '-qq', '--no-install-recommends', ...packages);
      // Debian's redis-server and prometheus packages start system daemons; the demo and the tests
      // start private servers of their own on free ports and never use those.
    } else if (has('brew')) {
      say(`installing ${names} with Homebrew`);
      for (const t of missing) run('brew', ['install', ...t.brew]);
    } else {
      const hint = missing.map((t) => `${t.name} (${t.why})`).join(', ');
      fail(`missing ${hint}: install them with your package manager (apt-get install ${missing.flatMap((t) => t.apt).join(' ')})`);
    }
  }

  if (!quiet) say('building');
  execFileSync('pnpm', ['--silent', 'build'], { stdio: 'inherit', cwd: root });
  if (!quiet) say(`ready for ${purpose === 'demo' ? 'the demo' : 'the demo and the tests'}`);
}
