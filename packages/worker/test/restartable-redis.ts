// A private redis-server on a free loopback port that a test can stop and start again on the same
// port (without persistence: a restart loses the data, as a Redis without AOF does).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface RestartableRedis {
  readonly url: string;
  /** Kills the server (SIGKILL): clients see the connection drop. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function launch(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`redis-server did not start: ${out.slice(-300)}`))), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`redis-server exited (${code}): ${out.slice(-300)}`))));
  });
}

const servers = new Set<ChildProcess>();

/** Starts the server; call `stop()` (or `stopAll()`) when done. */
export async function restartableRedis(): Promise<RestartableRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(port);
  servers.add(child);
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
      servers.delete(c);
    },
    async start() {
      child = await launch(port);
      servers.add(child);
    },
  };
}

/** Kills every server still running (after a failed test). */
export async function stopAll(): Promise<void> {
  for (const c of servers) {
    if (c.exitCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    }
  }
  servers.clear();
}
