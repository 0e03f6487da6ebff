import { fork, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';

/** One message a child sent: `{ event, ...details, at }`. */
export interface ChildEvent {
  event: string;
  at: number;
  [key: string]: unknown;
}

/** A child process under test, with everything it reported. */
export class TestChild {
  readonly events: ChildEvent[] = [];
  readonly exited: Promise<number | null>;
  private stderr = '';
  private readonly waiters: { match: (e: ChildEvent) => boolean; resolve: (e: ChildEvent) => void }[] = [];

  constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: ChildEvent) => {
      this.events.push(m);
      for (const w of [...this.waiters]) {
        if (w.match(m)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    proc.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    proc.stdout?.resume();
    this.exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  }

  /** The first event named `event` (already seen or still to come), or an error with the child's stderr after `ms`. */
  next(event: string, ms = 20_000): Promise<ChildEvent> {
    const seen = this.events.find((e) => e.event === event);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child sent no "${event}" within ${ms} ms; stderr: ${this.stderr.slice(-2000)}`)),
        ms,
      );
      this.waiters.push({ match: (e) => e.event === event, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      void this.exited.then((code) => {
        if (!this.events.some((e) => e.event === event)) {
          clearTimeout(timer);
          reject(new Error(`child exited (${code}) before "${event}"; stderr: ${this.stderr.slice(-2000)}`));
        }
      });
    });
  }

  /** Every event named `event` so far. */
  all(event: string): ChildEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  send(message: string): void {
    this.proc.send(message);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
  }
}

const children: TestChild[] = [];

/** Starts `script` as a child process with IPC; it is killed after the test if still running. */
export function spawnChild(script: string | URL, args: string[], env: Record<string, string> = {}): TestChild {
  const proc = fork(script, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const child = new TestChild(proc);
  children.push(child);
  return child;
}

afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill();
    await c.exited;
  }
});
