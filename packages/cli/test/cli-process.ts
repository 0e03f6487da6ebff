import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { redisUrl } from '@asyncq/test-support';

export const BIN = new URL('../dist/bin.js', import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `asyncq args...` to completion against the test Redis (REDIS_URL), optionally feeding stdin. */
export function runCli(args: string[], opts: { input?: string; env?: Record<string, string>; timeout?: number } = {}): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, REDIS_URL: redisUrl(), ...opts.env }, timeout: opts.timeout ?? 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - t0 });
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/** A long-running `asyncq` process (worker, fleet, metrics) whose output the test can wait for. */
export class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcess) {
    proc.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  }

  /** Resolves with the first match of `pattern` in stdout+stderr, or fails after `ms` showing the output. */
  async waitFor(pattern: RegExp, ms = 15_000): Promise<RegExpMatchArray> {
    const until = Date.now() + ms;
    for (;;) {
      const m = (this.stdout + this.stderr).match(pattern);
      if (m) return m;
      if (Date.now() > until) throw new Error(`no ${pattern} within ${ms} ms; stdout: ${this.stdout.slice(-1500)} stderr: ${this.stderr.slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
  }
}

const running: CliProcess[] = [];

/** Starts `asyncq args...` in the background; it is stopped (SIGKILL) after the test if still running. */
export function startCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, REDIS_URL: redisUrl(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = new CliProcess(proc);
  running.push(p);
  return p;
}

afterEach(async () => {
  for (const p of running.splice(0)) {
    p.kill('SIGKILL');
    await p.exited;
  }
});
