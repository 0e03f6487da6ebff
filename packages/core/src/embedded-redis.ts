import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NoRedisServer } from './server-errors.js';

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
}

/** A private redis-server started by {@link startEmbeddedRedis}. */
export interface EmbeddedRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The server's process id (to stop or pause it from a test). */
  readonly pid: number;
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
      const child = await launch(binary, port, dir, opts.startTimeout ?? 10_000, opts.args ?? []);
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        pid: child.pid ?? 0,
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function launch(binary: string, port: number, dir: string, timeoutMs: number, extra: string[]): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...extra];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server did not start within ${timeoutMs} ms: ${output.slice(-500)}`)), timeoutMs);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`redis-server exited with code ${code}: ${output.slice(-500)}`)));
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        child.stderr!.resume();
        resolve(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
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
