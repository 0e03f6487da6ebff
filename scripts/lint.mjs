#!/usr/bin/env node
// House rules that the compiler does not check; ARCHITECTURE.md ("House rules") says why each exists:
// - dependencies point down: cli -> {producer, worker} -> core; core imports no prom-client, yargs or sibling;
// - no deep imports into another package, but for @asyncq/core/internal (the siblings' plumbing),
//   and no relative path into another package;
// - no TypeScript enum; no .only/.skip left in tests;
// - every Lua script opens with a KEYS/ARGV header, and the key count in its file name is the one it uses;
//   the primitives' scripts (lua/sync) also give each key its type and say when ARGV[1] is msgpack;
// - no source file over 300 lines; only packages/core/src/redis/** imports bullmq or ioredis values;
//   only queue-keys.ts and sync-keys.ts build key strings; only cluster-room.ts publishes;
// - every dependency a package declares is imported by its src, and it imports nothing undeclared;
// - the CLI is laid out like the core: at most 6 files at the root of packages/cli/src, one
//   command per file under commands/ (no casts there: defineCommand types each handler), and
//   only the root imports commands/;
// - @asyncq/test-support (packages/test-support) is the tests' own package: it may import @asyncq/core,
//   @asyncq/worker (the futures suite), ioredis and the test runner, it talks to Redis directly, and nothing but tests imports it; no test
//   imports another test folder by a relative path (what tests share lives in test-support).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const problems = [];
const report = (file, msg) => problems.push(`${relative(root, file)}: ${msg}`);

function files(dir, ext) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p, ext));
    else if (ext.some((e) => p.endsWith(e))) out.push(p);
  }
  return out;
}

const allowed = {
  core: ['bullmq', 'ioredis', 'cluster-key-slot', 'msgpackr'],
  producer: ['@asyncq/core', 'prom-client'],
  worker: ['@asyncq/core', 'prom-client', 'pino'],
  cli: ['@asyncq/core', '@asyncq/producer', '@asyncq/worker', 'yargs', 'log-update', 'picocolors', 'prom-client', 'asciichart', 'ms', 'cli-table3', 'express', '@bull-board/api', '@bull-board/express'],
  'test-support': ['@asyncq/core', '@asyncq/worker', 'ioredis', 'vitest', 'testcontainers', '@testcontainers/redis'],
};

/**
 * The deep imports lint allows: what @asyncq/core shares with its siblings but users do not call
 * (internal), and the throwaway redis-server the CLI's demo starts (testing).
 */
const INTERNAL_ENTRIES = ['@asyncq/core/internal', '@asyncq/core/testing'];

/** The packages each package's src imports by name, for the check that every declared one is used. */
const imported = new Map(Object.keys(allowed).map((pkg) => [pkg, new Set()]));

for (const [pkg, deps] of Object.entries(allowed)) {
  const dir = join(root, 'packages', pkg);
  for (const file of files(join(dir, 'src'), ['.ts'])) {
    // Code only: doc comments carry usage examples that import the package itself.
    const src = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const [, spec] of src.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      if (spec.startsWith('node:')) continue;
      if (spec.startsWith('.')) {
        const target = join(file, '..', spec);
        if (!target.startsWith(dir)) report(file, `relative import ${spec} leaves the package; import the package by name`);
        continue;
      }
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      imported.get(pkg).add(name);
      if (!deps.includes(name)) report(file, `@asyncq/${pkg} may not import ${name} (allowed: ${deps.join(', ')})`);
      // One deep import is allowed: the core's plumbing for its siblings (ARCHITECTURE.md, "House rules").
      if (/^@asyncq\/[^/]+\/.+/.test(spec) && !INTERNAL_ENTRIES.includes(spec)) report(file, `deep import ${spec}: import from the package's entry point (siblings may also import @asyncq/core/internal and @asyncq/core/testing)`);
    }
    if (/^\s*(export\s+)?(const\s+)?enum\s/m.test(src)) report(file, 'TypeScript enum: use a union of string literals');
  }
}

// Tests, benchmarks and examples import the packages as users do: by their entry points, plus the
// core's internal one (and its testing one, for a throwaway redis-server).
// Test support's own entry points (hook-free basics, the conformance suites) are for tests too.
const TEST_SUPPORT_ENTRIES = ['@asyncq/test-support/basics', '@asyncq/test-support/conformance', '@asyncq/test-support/global-setup'];
for (const dir of ['test', 'bench', 'examples', ...Object.keys(allowed).map((pkg) => `packages/${pkg}/test`)]) {
  if (!existsSync(join(root, dir))) continue;
  for (const file of files(join(root, dir), ['.ts', '.mts', '.mjs'])) {
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const [, spec] of code.matchAll(/(?:from|import)\s*\(?\s*['"](@asyncq\/[^/'"]+\/[^'"]+)['"]/g)) {
      if (![...INTERNAL_ENTRIES, ...TEST_SUPPORT_ENTRIES].includes(spec)) report(file, `deep import ${spec}: import from the package's entry point or @asyncq/core/internal`);
    }
  }
}

// A declared dependency nobody imports is weight every user installs; one imported but not
// declared works only by accident of hoisting.
for (const [pkg, used] of imported) {
  const manifest = join(root, 'packages', pkg, 'package.json');
  const { dependencies = {}, peerDependencies = {} } = JSON.parse(readFileSync(manifest, 'utf8'));
  for (const dep of Object.keys(dependencies)) if (!used.has(dep)) report(manifest, `declares ${dep} but its src never imports it: use it or drop it`);
  for (const dep of used) if (!(dep in dependencies) && !(dep in peerDependencies)) report(manifest, `its src imports ${dep}, which it does not declare (dependencies or peerDependencies)`);
}

// The CLI's rooms (issue 19): commands/ holds one command per file, the folders hold their parts,
// and the root only wires them together.
const cliSrc = join(root, 'packages/cli/src');
const MAX_CLI_ROOT_FILES = 6;
const rootFiles = readdirSync(cliSrc).filter((n) => n.endsWith('.ts'));
if (rootFiles.length > MAX_CLI_ROOT_FILES) {
  report(cliSrc, `${rootFiles.length} files at the root (${rootFiles.join(', ')}): at most ${MAX_CLI_ROOT_FILES}; put parts in a folder (commands, fleet, grammar, queues, watch, dashboard, exporter)`);
}
for (const file of files(cliSrc, ['.ts'])) {
  const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const inCommands = file.includes('/packages/cli/src/commands/');
  for (const [, spec] of code.matchAll(/from\s*['"](\.[^'"]+)['"]/g)) {
    const target = join(file, '..', spec);
    if (!target.startsWith(join(cliSrc, 'commands') + '/')) continue;
    if (inCommands) report(file, `imports another command (${spec}): put what both need in a folder (grammar, queues, ...)`);
    else if (join(file, '..') !== cliSrc) report(file, `imports ${spec}: only the package root (cli.ts, index.ts) imports commands/`);
  }
  if (!inCommands) continue;
  const commands = (code.match(/\bdefineCommand\(/g) ?? []).length;
  if (commands !== 1) report(file, `defines ${commands} commands: one command per file under commands/, through defineCommand`);
  // String and template literals first, so prose such as 'GET /api/queues as JSON' is not a cast.
  const bare = code.replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, "''");
  for (const cast of bare.match(/\)\s+as\s+[\w{[]|\w\s+as\s+(unknown|never|any|const|[A-Z]\w*)\b/g) ?? []) {
    report(file, `a cast (${cast.trim()}) in a command: let defineCommand type the arguments, or check the value`);
  }
}

for (const file of files(root, ['.test.ts'])) {
  if (/\b(it|test|describe)\.(only|skip)\(|\bx(it|describe)\(/.test(readFileSync(file, 'utf8'))) {
    report(file, '.only/.skip left in a test: every test must run in CI');
  }
}

for (const file of files(join(root, 'packages/core/lua'), ['.lua'])) {
  const src = readFileSync(file, 'utf8');
  if (/\/lua\/(sync\/)?lib\//.test(file)) {
    // Helpers inserted into scripts: a header saying what they are, and no keys of their own.
    if (!/^--\[\[[\s\S]*?\]\]/.test(src)) report(file, 'must open with a --[[ ... ]] header saying what it holds');
    if (/KEYS\[\d+\]/.test(src)) report(file, 'a helper library must take keys as arguments, not read KEYS');
    continue;
  }
  const m = /-(\d+)\.lua$/.exec(file);
  if (!m) {
    report(file, 'name must be <name>-<numberOfKeys>.lua');
    continue;
  }
  // An optional Redis 7 shebang line (`#!lua flags=...`) comes before the header.
  const header = /^(?:#!lua[^\n]*\n)?--\[\[([\s\S]*?)\]\]/.exec(src);
  if (!header || !/KEYS\[1\]|no keys/i.test(header[1]) || !/ARGV\[1\]|no argv/i.test(header[1]) && /ARGV\[/.test(src)) {
    report(file, 'must open with a --[[ ... ]] header listing its KEYS and ARGV');
  }
  const used = Math.max(0, ...[...src.matchAll(/KEYS\[(\d+)\]/g)].map((k) => Number(k[1])));
  if (used !== Number(m[1])) report(file, `file name says ${m[1]} keys but the script uses KEYS[${used}]`);
  if (file.includes('/lua/sync/') && header) {
    // The primitives' scripts: every key listed with its Redis type, options as one msgpack argument.
    for (let i = 1; i <= Number(m[1]); i++) {
      if (!new RegExp(`KEYS\\[${i}\\]\\s+\\S+\\s+\\((HASH|ZSET|SET|LIST|STRING)\\)`).test(header[1])) report(file, `header must list KEYS[${i}] as "KEYS[${i}] <name> (<TYPE>)"`);
    }
    if (/cmsgpack\.unpack\(ARGV\[1\]\)/.test(src) && !/ARGV\[1\]\s+msgpack/.test(header[1])) report(file, 'unpacks ARGV[1] with cmsgpack: its header must say "ARGV[1] msgpack { ... }"');
    if (!/^-- @include sync-lib$/m.test(src)) report(file, 'must include the primitives\' helpers ("-- @include sync-lib") for rcall and the shared rules');
  }
}

// The shape of the code the first review asked for (issue 9): small files, Redis clients only in
// core's redis/ folder, one builder of keys and one publisher.
const MAX_LINES = 300;
for (const file of files(join(root, 'packages'), ['.ts'])) {
  if (!/\/packages\/[^/]+\/src\//.test(file)) continue;
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n').length;
  if (lines > MAX_LINES) report(file, `${lines} lines: split it into parts of at most ${MAX_LINES}`);
  // Test support starts servers and plants keys: the Redis rules below fence the product's code.
  if (file.includes('/packages/test-support/')) continue;
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const inCoreRedis = file.includes('/packages/core/src/redis/');
  for (const [, typeOnly, spec] of code.matchAll(/import\s+(type\s+)?[^'"]*?from\s*['"]([^'"]+)['"]/g)) {
    if ((spec === 'ioredis' || spec === 'bullmq') && !typeOnly && !inCoreRedis) {
      report(file, `imports ${spec} values: only packages/core/src/redis/** talks to Redis (type imports are fine)`);
    }
  }
  const literals = code.match(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g) ?? [];
  if (!/\/redis\/(queue|sync)-keys\.ts$/.test(file) && literals.some((l) => /:\{(\$\{[^}]*\}|[\w#.*-]+)\}/.test(l))) {
    report(file, 'builds a Redis key (a ":{tag}" hash tag): only packages/core/src/redis/queue-keys.ts (queues) and sync-keys.ts (primitives) build key strings');
  }
  if (!file.endsWith('/redis/cluster-room.ts') && /\.s?publish\(/.test(code)) {
    report(file, 'publishes on a channel: only packages/core/src/redis/cluster-room.ts publishes (queue-signals.ts publishSignal calls it)');
  }
}

// Tests (issue 19): what they share lives once in @asyncq/test-support, which only tests import.
const testRoots = ['test/unit', 'test/chaos', 'test/cluster', 'test', 'docker/test', 'bench/test', 'examples/test', ...readdirSync(join(root, 'packages')).map((p) => `packages/${p}/test`)];
const testRootOf = (file) => testRoots.map((r) => join(root, r)).filter((r) => file.startsWith(r + '/')).sort((a, b) => b.length - a.length)[0];
for (const file of [...files(join(root, 'packages'), ['.ts', '.mjs']), ...['test', 'docker', 'bench', 'examples'].flatMap((d) => files(join(root, d), ['.ts', '.mjs']))]) {
  const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const testRoot = testRootOf(file);
  for (const [, spec] of code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
    if (!testRoot) {
      if (spec.startsWith('@asyncq/test-support') && !file.includes('/packages/test-support/')) report(file, `imports ${spec}: only tests may use @asyncq/test-support`);
    } else if (spec.startsWith('.') && !join(file, '..', spec).startsWith(testRoot + '/')) {
      // Into a package's src or the repo's scripts is fine (white-box tests); into another test folder is not.
      const targetRoot = testRootOf(join(file, '..', spec));
      if (targetRoot && targetRoot !== testRoot) report(file, `imports ${spec} from another test folder: move what both need to @asyncq/test-support`);
    }
  }
}
for (const dir of [...readdirSync(join(root, 'packages')).map((p) => `packages/${p}`), 'bench', 'examples']) {
  const manifest = join(root, dir, 'package.json');
  let deps = {};
  try {
    deps = JSON.parse(readFileSync(manifest, 'utf8')).dependencies ?? {};
  } catch {
    continue;
  }
  if ('@asyncq/test-support' in deps) report(manifest, 'depends on @asyncq/test-support: only tests may (a devDependency of the root)');
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`lint: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log('lint: ok');
