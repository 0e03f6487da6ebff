import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach } from 'vitest';
import { sleep } from '@asyncq/test-support';

/** The repository root. */
export const ROOT = new URL('../../../', import.meta.url).pathname;
/** The built `asyncq` command. */
export const BIN = `${ROOT}packages/cli/dist/bin.js`;
/** The chaos fixtures (handler modules, producer and queue-client scripts). */
export const FIXTURES = `${ROOT}test/chaos/fixtures/`;

/** How a process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** ms since the epoch, as seen by this process. */
  at: number;
}

const tracked = new Set<ChaosProcess>();
/** Every pid this file ever saw in a tracked process tree (fleet workers), killed at cleanup too. */
const seenPids = new Set<number>();

/**
 * A process a scenario started: a CLI command or a node fixture script. Its output is kept whole
 * (for the hygiene checks) and it is killed by pid, with its whole process tree, after the test.
 */
export class ChaosProcess {
  stdout = '';
  stderr = '';
  exit?: Exit;
  readonly startedAt = Date.now();
  readonly exited: Promise<Exit>;

  constructor(
    readonly label: string,
    readonly proc: ChildProcess,
  ) {
    proc.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        resolve(this.exit);
      }),
    );
    if (proc.pid) seenPids.add(proc.pid);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** Everything it printed, stdout then stderr. */
  get output(): string {
    return this.stdout + this.stderr;
  }

  /** Non-empty stdout lines. */
  lines(): string[] {
    return this.stdout.split('\n').filter((l) => l.trim() !== '');
  }

  /** Resolves with the first match of `pattern` in its output, or throws (with the output) after `ms` or at exit. */
  async waitFor(pattern: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
    const until = Date.now() + ms;
    for (;;) {
      const m = this.output.match(pattern);
      if (m) return m;
      if (Date.now() > until || this.exit) {
        throw new Error(
          `${this.label}: no ${pattern} ${this.exit ? `before it exited (${this.exit.code ?? this.exit.signal})` : `within ${ms} ms`}; output: ${this.output.slice(-1500)}`,
        );
      }
      await sleep(25);
    }
  }

  /** Resolves with how it exited, or undefined if it still runs after `ms`. */
  async exitWithin(ms: number): Promise<Exit | undefined> {
    return Promise.race([this.exited, sleep(ms).then(() => undefined)]);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(sig);
  }

  /** The pids of its live descendants (a fleet's workers), found through /proc. */
  descendants(): number[] {
    const out = descendantsOf(this.pid);
    for (const p of out) seenPids.add(p);
    return out;
  }

  /** Its live direct children. */
  children(): number[] {
    const out = childrenOf(this.pid);
    for (const p of out) seenPids.add(p);
    return out;
  }

  /** Stops it and its whole tree at once (SIGSTOP first, so it cannot spawn while the tree is read). */
  async killTree(): Promise<void> {
    if (!this.alive) return;
    try {
      process.kill(this.pid, 'SIGSTOP');
    } catch {
      return;
    }
    for (const p of descendantsOf(this.pid)) killQuietly(p);
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}

function killQuietly(pid: number, sig: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Parent pid of every live process, from /proc/<pid>/stat (the command name may hold spaces and parentheses). */
function parentMap(): Map<number, number[]> {
  const byParent = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') continue; // a zombie is already dead
    const ppid = Number(fields[1]);
    const list = byParent.get(ppid) ?? [];
    list.push(Number(entry));
    byParent.set(ppid, list);
  }
  return byParent;
}

/** Live direct children of `pid`. */
export function childrenOf(pid: number): number[] {
  return parentMap().get(pid) ?? [];
}

/** Live descendants of `pid`, children first. */
export function descendantsOf(pid: number): number[] {
  const byParent = parentMap();
  const out: number[] = [];
  const stack = [...(byParent.get(pid) ?? [])];
  while (stack.length > 0) {
    const p = stack.shift()!;
    out.push(p);
    stack.push(...(byParent.get(p) ?? []));
  }
  return out;
}

/** The argv of a live process, from /proc/<pid>/cmdline, or undefined once it is gone. */
export function argvOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  } catch {
    return undefined;
  }
}

/** Environment for every child: no inherited REDIS_URL or ASYNCQ_* (each scenario names its own Redis). */
function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (k !== 'REDIS_URL' && !k.startsWith('ASYNCQ_')) base[k] = v;
  const merged: NodeJS.ProcessEnv = { ...base, ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return merged;
}

/** Starts `asyncq args...` in the background. */
export function startCli(args: string[], opts: { env?: Record<string, string | undefined>; label?: string } = {}): ChaosProcess {
  const proc = spawn(process.execPath, [BIN, ...args], { env: childEnv(opts.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
  const p = new ChaosProcess(opts.label ?? `asyncq ${args[0]}`, proc);
  tracked.add(p);
  return p;
}

/** Starts a fixture script (a file name in test/chaos/fixtures) with node. */
export function startNode(script: string, args: string[] = [], opts: { env?: Record<string, string | undefined>; label?: string; nodeArgs?: string[] } = {}): ChaosProcess {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), `${FIXTURES}${script}`, ...args], {
    env: childEnv(opts.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p = new ChaosProcess(opts.label ?? script, proc);
  tracked.add(p);
  return p;
}

/** What a command run to completion did. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** True when it was still running after the time limit and had to be killed. */
  timedOut: boolean;
}

/** Runs `asyncq args...` to completion, killing it (tree and all) if it runs past `timeoutMs`. */
export async function runCli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; timeoutMs?: number; nodeArgs?: string[] } = {},
): Promise<CliRun> {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], { env: childEnv(opts.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
  const p = new ChaosProcess(`asyncq ${args.join(' ')}`, proc);
  tracked.add(p);
  const exit = await p.exitWithin(opts.timeoutMs ?? 20_000);
  if (!exit) await p.killTree();
  tracked.delete(p);
  return { code: p.exit!.code, signal: p.exit!.signal, stdout: p.stdout, stderr: p.stderr, ms: p.exit!.at - p.startedAt, timedOut: !exit };
}

/**
 * Kills a pid seen in one of our trees, but only while it still runs code from this worktree:
 * a pid the kernel has given to some other process since is left alone.
 */
function killOurs(pid: number): void {
  if (argvOf(pid)?.some((a) => a.startsWith(ROOT))) killQuietly(pid);
}

/** Kills every process started in this test, with its tree, and every pid seen in those trees. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...tracked].map((p) => p.killTree()));
  for (const pid of seenPids) killOurs(pid);
  tracked.clear();
  seenPids.clear();
}

afterEach(async () => {
  await stopAllProcesses();
});

// Also when the vitest worker itself goes away.
process.on('exit', () => {
  for (const p of tracked) if (p.alive) killQuietly(p.pid);
  for (const pid of seenPids) killOurs(pid);
});
