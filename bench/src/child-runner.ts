import { fork, type ChildProcess } from 'node:child_process';
import { GO, type ChildMessage, type ChildSpec } from './protocol.js';

type Done = Extract<ChildMessage, { event: 'done' }>;

/** How long a child may take to connect and say it is ready. */
const READY_TIMEOUT_MS = 30_000;
/** How long a child may take to exit once done, before it is killed. */
const EXIT_TIMEOUT_MS = 10_000;

/**
 * The driver's side of one bench child: started with {@link startChild}, it is ready (connected,
 * nothing started yet); `go()` starts the timed phase and resolves with the child's figures.
 * Every wait is bounded: a child that does not answer in time is killed (by its pid) and the run
 * fails with a message saying which step timed out.
 */
export class ChildRun {
  private readonly exited: Promise<void>;
  private doneMessage?: Promise<Done>;

  private constructor(
    private readonly child: ChildProcess,
    readonly idleRss: number,
    private readonly messages: AsyncMessages,
    private readonly label: string,
  ) {
    this.exited = new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  }

  /** Forks a child for `spec` and waits until it says it is ready. */
  static async start(spec: ChildSpec, onProgress?: (m: Extract<ChildMessage, { event: 'progress' }>) => void): Promise<ChildRun> {
    const label = `${spec.engine} ${spec.role}`;
    const child = fork(new URL('./bench-child.js', import.meta.url), [JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const messages = new AsyncMessages(child, label, onProgress);
    try {
      const ready = await messages.next('ready', READY_TIMEOUT_MS);
      return new ChildRun(child, ready.rss, messages, label);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
  }

  /** Starts the timed phase; resolves with the child's figures, or rejects after `timeoutMs`. */
  go(timeoutMs: number): Promise<Done> {
    this.doneMessage ??= (async () => {
      this.child.send(GO);
      return this.messages.next('done', timeoutMs);
    })();
    return this.doneMessage;
  }

  /** Waits for the child to exit (it does once done), killing it if it does not in time. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (!this.doneMessage) this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      console.error(`  (${this.label} child ${this.child.pid} did not exit within ${EXIT_TIMEOUT_MS / 1000} s: killed)`);
      this.child.kill('SIGKILL');
    }, EXIT_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills the child at once. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** A child's messages as awaitable events; an error message or an early exit rejects the wait. */
class AsyncMessages {
  private readonly seen: ChildMessage[] = [];
  private failure?: Error;
  private wake = (): void => {};

  constructor(
    child: ChildProcess,
    private readonly label: string,
    onProgress?: (m: Extract<ChildMessage, { event: 'progress' }>) => void,
  ) {
    child.on('error', (e) => {
      this.failure ??= new Error(`${label}: ${e.message}`);
      this.wake();
    });
    child.on('message', (m: ChildMessage) => {
      if (m.event === 'progress') onProgress?.(m);
      else if (m.event === 'error') this.failure ??= new Error(`${label}: ${m.message}`);
      else this.seen.push(m);
      this.wake();
    });
    child.on('exit', (code, signal) => {
      this.failure ??= new Error(`${label}: the child exited (${signal ?? code}) early`);
      this.wake();
    });
  }

  async next<E extends 'ready' | 'done'>(event: E, timeoutMs: number): Promise<Extract<ChildMessage, { event: E }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.seen.find((x): x is Extract<ChildMessage, { event: E }> => x.event === event);
      if (m) return m;
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: no "${event}" within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
