import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';

/** How a chaos Redis persists and authenticates. */
export interface RedisServerOptions {
  /** Append-only file with `appendfsync always`: every acknowledged write is on disk. @defaultValue false */
  aof?: boolean;
  /** `requirepass`: clients must send it. @defaultValue none */
  password?: string;
  /** `maxmemory`, e.g. `'8mb'`: past it Redis evicts keys or refuses writes, per `maxmemoryPolicy`. @defaultValue none */
  maxmemory?: string;
  /** `maxmemory-policy`, e.g. `'noeviction'` or `'allkeys-lru'`. @defaultValue Redis's own (noeviction) */
  maxmemoryPolicy?: string;
  /** More `redis-server` arguments, as on its command line (e.g. `['--min-replicas-to-write', '1']`). */
  args?: string[];
}

const servers = new Set<RedisServer>();

/** A free TCP port on 127.0.0.1 (the kernel's choice; the caller binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}

/**
 * A `redis-server` this suite owns: started on a free loopback port in a temp dir, so a scenario can
 * SIGKILL it, freeze it (SIGSTOP/SIGCONT) and restart it on the same port with the same dir (what a
 * crash and a supervisor restart look like) or with an empty one (a Redis that lost its data).
 * Every server is stopped and its dirs removed after the test file, also when a test failed.
 */
export class RedisServer {
  readonly url: string;
  private proc?: ChildProcess;
  private readonly dirs: string[] = [];
  private admin?: Redis;
  /** Output of the current process, for failure messages. */
  private output = '';

  private constructor(
    readonly port: number,
    private dir: string,
    readonly opts: RedisServerOptions,
  ) {
    this.dirs.push(dir);
    const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
    this.url = `redis://${auth}127.0.0.1:${port}`;
  }

  static async start(opts: RedisServerOptions = {}): Promise<RedisServer> {
    let lastError: unknown;
    for (let tries = 0; tries < 3; tries++) {
      const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'asyncq-chaos-redis-')), opts);
      servers.add(server);
      try {
        await server.launch();
        return server;
      } catch (e) {
        lastError = e; // the port was taken meanwhile: another one
        await server.destroy();
      }
    }
    throw lastError;
  }

  /** The pid of the running server. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  private launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--daemonize', 'no'];
    args.push('--appendonly', this.opts.aof ? 'yes' : 'no');
    if (this.opts.aof) args.push('--appendfsync', 'always');
    if (this.opts.password) args.push('--requirepass', this.opts.password);
    if (this.opts.maxmemory) args.push('--maxmemory', this.opts.maxmemory);
    if (this.opts.maxmemoryPolicy) args.push('--maxmemory-policy', this.opts.maxmemoryPolicy);
    args.push(...(this.opts.args ?? []));
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.output = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`redis-server on port ${this.port} did not start within 10 s: ${this.output.slice(-500)}`)), 10_000);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        reject(e);
      };
      proc.on('error', fail);
      proc.once('exit', (code) => {
        if (!ready) fail(new Error(`redis-server on port ${this.port} exited with ${code}: ${this.output.slice(-500)}`));
      });
      let ready = false;
      proc.stdout!.on('data', (d: Buffer) => {
        this.output = (this.output + d.toString()).slice(-4000);
        if (!ready && this.output.includes('Ready to accept connections')) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      proc.stderr!.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000)));
    });
  }

  /** SIGKILL: the server dies at once, with whatever it had not written to disk. Resolves once it is gone. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGCONT'); // a stopped process only dies once it runs again
    proc.kill('SIGKILL');
    await gone;
  }

  /** SIGSTOP: the server freezes; its connections stay open but nothing answers. */
  freeze(): void {
    this.proc?.kill('SIGSTOP');
  }

  /** SIGCONT after {@link freeze}. */
  thaw(): void {
    this.proc?.kill('SIGCONT');
  }

  /** Starts the server again on the same port: with the same dir (its AOF is replayed), or an empty one. */
  async restart(opts: { emptyDir?: boolean } = {}): Promise<void> {
    await this.kill();
    if (opts.emptyDir) {
      this.dir = mkdtempSync(join(tmpdir(), 'asyncq-chaos-redis-'));
      this.dirs.push(this.dir);
    }
    // The old process's socket may linger for a moment: retry the bind briefly.
    for (let tries = 0; ; tries++) {
      try {
        await this.launch();
        return;
      } catch (e) {
        if (tries >= 20) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** An admin connection for planting keys and sampling counts; it retries through restarts. */
  client(): Redis {
    this.admin ??= new Redis({
      host: '127.0.0.1',
      port: this.port,
      ...(this.opts.password ? { password: this.opts.password } : {}),
      maxRetriesPerRequest: 1,
      retryStrategy: () => 100,
      connectTimeout: 2000,
      lazyConnect: false,
    });
    this.admin.on('error', () => {});
    return this.admin;
  }

  /** Stops the server and removes its dirs. */
  async destroy(): Promise<void> {
    this.admin?.disconnect();
    this.admin = undefined;
    await this.kill();
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
    servers.delete(this);
  }
}

afterAll(async () => {
  await Promise.all([...servers].map((s) => s.destroy()));
});

// A vitest worker that dies takes its Redis servers with it.
process.on('exit', () => {
  for (const s of servers) if (s.pid) try { process.kill(s.pid, 'SIGKILL'); } catch { /* already gone */ }
});
