import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { startEmbeddedRedis, type EmbeddedRedis } from '@asyncq/core/testing';

/** How a test's own Redis persists, authenticates and where it listens. */
export interface RedisServerOptions {
  /** Append-only file with `appendfsync always`: every acknowledged write is on disk, and a restart finds it. @defaultValue false */
  aof?: boolean;
  /** `requirepass`, also put in {@link RedisServer.url}. @defaultValue none */
  password?: string;
  /** `maxmemory`, e.g. `'8mb'`: past it Redis evicts keys or refuses writes, per `maxmemoryPolicy`. @defaultValue none */
  maxmemory?: string;
  /** `maxmemory-policy`, e.g. `'noeviction'` or `'allkeys-lru'`. @defaultValue Redis's own (noeviction) */
  maxmemoryPolicy?: string;
  /** More `redis-server` arguments, as on its command line (`['--requirepass', 'x']`, TLS settings...). */
  args?: string[];
  /** The port to listen on. @defaultValue a free one (another one if it is taken meanwhile) */
  port?: number;
  /** A data directory of the caller's, kept on {@link RedisServer.destroy}. @defaultValue a fresh one, removed on destroy */
  dir?: string;
}

const servers = new Set<RedisServer>();

/**
 * A `redis-server` of one test's own, on {@link startEmbeddedRedis}: on a loopback port, in its own
 * directory, so a test can crash it (SIGKILL), shut it down cleanly (SIGTERM: the append-only
 * file is flushed), freeze it (SIGSTOP: connections stay open, nothing answers) and start it again
 * on the same port, with the same directory (a crash and a supervisor restart) or an empty one (a
 * Redis that lost its data). Every server still running is destroyed after the test file, also
 * when a test failed, and killed if the test process exits; {@link stopRedisServers} destroys them
 * sooner.
 */
export class RedisServer {
  readonly url: string;
  private server?: EmbeddedRedis;
  private readonly ownDirs: string[] = [];

  private constructor(
    readonly port: number,
    private currentDir: string,
    readonly opts: RedisServerOptions,
  ) {
    const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
    this.url = `redis://${auth}127.0.0.1:${port}`;
  }

  static async start(opts: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'asyncq-test-redis-'));
    const embedded = await startEmbeddedRedis({ dir, args: serverArgs(opts), ...(opts.port ? { port: opts.port } : {}) }).catch((e: unknown) => {
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
      throw e;
    });
    const server = new RedisServer(embedded.port, dir, opts);
    if (!opts.dir) server.ownDirs.push(dir);
    server.attach(embedded);
    servers.add(server);
    return server;
  }

  /** The data directory of the current process. */
  get dir(): string {
    return this.currentDir;
  }

  /** The pid of the running server. */
  get pid(): number | undefined {
    return this.running ? this.server?.pid : undefined;
  }

  get running(): boolean {
    return this.server !== undefined && !this.exited;
  }

  private exited = false;

  private attach(server: EmbeddedRedis): void {
    this.server = server;
    this.exited = false;
    void server.exited.then(() => {
      if (this.server === server) this.exited = true;
    });
  }

  /** SIGKILL: the server dies at once, with whatever it had not written to disk. Resolves once it is gone. */
  async kill(): Promise<void> {
    await this.end('SIGKILL');
  }

  /** SIGTERM: the server flushes its append-only file and exits. Resolves once it is gone. */
  async shutdown(): Promise<void> {
    await this.end('SIGTERM');
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const server = this.server;
    if (!server || !this.running) return;
    server.signal('SIGCONT'); // a stopped process only acts on the signal once it runs again
    server.signal(signal);
    await server.exited;
  }

  /** SIGSTOP: the server freezes; its connections stay open but nothing answers. */
  freeze(): void {
    if (this.running) this.server?.signal('SIGSTOP');
  }

  /** SIGCONT after {@link freeze}. */
  thaw(): void {
    if (this.running) this.server?.signal('SIGCONT');
  }

  /** Starts the server again on its port, with its directory (an AOF is replayed); it must have exited. */
  async relaunch(): Promise<void> {
    if (this.running) throw new Error(`redis-server on port ${this.port} still runs: kill() or shutdown() it first`);
    // The old process's socket may linger for a moment: retry the bind briefly.
    for (let tries = 0; ; tries++) {
      try {
        this.attach(await startEmbeddedRedis({ port: this.port, dir: this.currentDir, args: serverArgs(this.opts) }));
        return;
      } catch (e) {
        if (tries >= 20) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** {@link kill}, then {@link relaunch}: on the same directory, or an empty one. */
  async restart(opts: { emptyDir?: boolean } = {}): Promise<void> {
    await this.kill();
    if (opts.emptyDir) {
      this.currentDir = mkdtempSync(join(tmpdir(), 'asyncq-test-redis-'));
      this.ownDirs.push(this.currentDir);
    }
    await this.relaunch();
  }

  private admin?: Redis;

  /** An admin connection for planting keys and sampling counts; it retries through restarts. */
  client(): Redis {
    this.admin ??= new Redis({
      host: '127.0.0.1',
      port: this.port,
      ...(this.opts.password ? { password: this.opts.password } : {}),
      maxRetriesPerRequest: 1,
      retryStrategy: () => 100,
      connectTimeout: 2000,
    });
    this.admin.on('error', () => {});
    return this.admin;
  }

  /** Kills the server and removes the directories it made. */
  async destroy(): Promise<void> {
    this.admin?.disconnect();
    this.admin = undefined;
    await this.kill();
    for (const d of this.ownDirs) rmSync(d, { recursive: true, force: true });
    servers.delete(this);
  }

  /** @internal SIGKILL without waiting, for the exit hook. */
  killNow(): void {
    if (this.running) this.server?.signal('SIGKILL');
  }
}

function serverArgs(opts: RedisServerOptions): string[] {
  const args: string[] = [];
  if (opts.aof) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  if (opts.password) args.push('--requirepass', opts.password);
  if (opts.maxmemory) args.push('--maxmemory', opts.maxmemory);
  if (opts.maxmemoryPolicy) args.push('--maxmemory-policy', opts.maxmemoryPolicy);
  return [...args, ...(opts.args ?? [])];
}

/** Destroys every {@link RedisServer} this test file started and has not destroyed (`afterEach(stopRedisServers)`). */
export async function stopRedisServers(): Promise<void> {
  await Promise.all([...servers].map((s) => s.destroy()));
}

afterAll(stopRedisServers);

// A test process that dies takes its Redis servers with it.
process.on('exit', () => {
  for (const s of servers) s.killNow();
});
