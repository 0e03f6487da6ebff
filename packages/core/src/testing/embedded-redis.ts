import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NoRedisServer } from '../server-errors.js';
import { freePort } from './free-port.js';

/** Options of {@link startEmbeddedRedis}. */
export interface EmbeddedRedisOptions {
  /** The server binary. @defaultValue 'redis-server' (found on PATH) */
  binary?: string;
  /** How long to wait for the server to accept connections. @defaultValue 10000 */
  startTimeout?: number;
  /** A port to listen on (to restart a server where it was). @defaultValue a free one */
  port?: number;
  /** More `redis-server` arguments: `--requirepass x`, `--appendonly yes`, TLS settings... */
  args?: string[];
  /** A data directory to use (and keep): a restart on the same one finds its data again. @defaultValue a fresh temporary one, removed on stop */
  dir?: string;
  /** A config file, given before every argument (Sentinel needs one it can rewrite). @defaultValue none */
  config?: string;
  /** The log line that says the server is up. @defaultValue 'Ready to accept connections' (a Sentinel says 'Sentinel ID is') */
  readyLine?: string;
}

/** A private redis-server started by {@link startEmbeddedRedis}. */
export interface EmbeddedRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The server's process id (to stop or pause it from a test). */
  readonly pid: number;
  /** Its data directory. */
  readonly dir: string;
  /** Resolves once the server process has exited, however it ended. */
  readonly exited: Promise<void>;
  /** Sends a signal to the server (SIGKILL to crash it, SIGSTOP and SIGCONT to freeze and thaw it); a no-op once it exited. */
  signal(signal: NodeJS.Signals): void;
  /** The tail of what the server printed, for failure messages. */
  output(): string;
  /** Stops the server and removes its directory (unless it was given). */
  stop(): Promise<void>;
}

/**
 * Starts a throwaway `redis-server` on a free loopback port, in a temporary
 * directory, without persistence: for demos and tests on a machine with no
 * Redis running. Throws one clear error when no `redis-server` is installed.
 */
export async function startEmbeddedRedis(opts: EmbeddedRedisOptions = {}): Promise<EmbeddedRedis> {
  const binary = opts.binary ?? 'redis-server';
  let lastError: unknown;
  for (let tries = 0; tries < 3; tries++) {
    const port = opts.port ?? (await freePort());
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'asyncq-redis-'));
    const removeDir = (): void => {
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    };
    try {
      const args = [...(opts.config ? [opts.config] : []), ...baseArgs(port, dir), ...(opts.args ?? [])];
      const { child, output } = await launch(binary, args, opts.readyLine ?? 'Ready to accept connections', opts.startTimeout ?? 10_000);
      const exited = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        pid: child.pid ?? 0,
        dir,
        exited,
        signal: (sig) => void (running(child) && child.kill(sig)),
        output,
        stop: () => stop(child, removeDir),
      };
    } catch (e) {
      removeDir();
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NoRedisServer(binary, e);
      }
      lastError = e; // most likely the port was taken meanwhile: try another
    }
  }
  throw lastError;
}

function baseArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function launch(binary: string, args: string[], readyLine: string, timeoutMs: number): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // Kept short: a server that runs for long prints little, and only the tail helps a failure message.
  const keep = (d: Buffer): void => void (output = (output + d.toString()).slice(-4000));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`redis-server did not start within ${timeoutMs} ms: ${output.slice(-500)}`)), timeoutMs);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`redis-server exited with code ${code}: ${output.slice(-500)}`)));
    child.stdout!.on('data', (d: Buffer) => {
      keep(d);
      if (output.includes(readyLine)) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stdout!.removeAllListeners('data');
        child.stdout!.on('data', keep);
        resolve({ child, output: () => output });
      }
    });
    child.stderr!.on('data', keep);
  });
}

function stop(child: ChildProcess, removeDir: () => void): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      removeDir();
      resolve();
    };
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', done);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}
