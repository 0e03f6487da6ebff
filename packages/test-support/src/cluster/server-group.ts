import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedRedis, type EmbeddedRedis } from '@asyncq/core/testing';

/** Every group this process started and has not stopped: killed on exit whatever happens. */
const liveGroups = new Set<ServerGroup>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test runner may end the process without awaiting an async teardown to its end (it does on
  // failures): killing and removing synchronously here leaves nothing behind.
  process.once('exit', () => {
    for (const g of liveGroups) g.killNow();
  });
}

/** How one server of a group starts: its arguments, and for a Sentinel its config file and ready line. */
export interface ServerSpec {
  args: string[];
  config?: string;
  readyLine?: string;
}

/** One redis-server (data node or sentinel) of a group, on {@link startEmbeddedRedis}, restartable on the same port and directory. */
export class ServerProcess {
  private server: EmbeddedRedis | undefined;
  private exited = true;

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly spec: ServerSpec,
    private readonly onPidsChanged: () => void,
  ) {}

  get pid(): number | undefined {
    return this.alive ? this.server?.pid : undefined;
  }

  get alive(): boolean {
    return this.server !== undefined && !this.exited;
  }

  /** Starts the server and resolves once it is ready; fails with the tail of its output if it exits or stays silent. */
  async start(timeoutMs = 10_000): Promise<void> {
    const server = await startEmbeddedRedis({
      port: this.port,
      dir: this.dir,
      args: this.spec.args,
      startTimeout: timeoutMs,
      ...(this.spec.config ? { config: this.spec.config } : {}),
      ...(this.spec.readyLine ? { readyLine: this.spec.readyLine } : {}),
    });
    this.server = server;
    this.exited = false;
    void server.exited.then(() => {
      if (this.server === server) this.exited = true;
    });
    this.onPidsChanged();
  }

  /** The end of the server's output, for error messages. */
  logTail(): string {
    return this.server?.output().slice(-1500) ?? '';
  }

  /** SIGKILL by PID (no-op when not running); synchronous, so it also works in an exit handler. */
  kill(): void {
    if (this.alive) this.server!.signal('SIGKILL');
  }

  /** Kills the server and resolves once its process has exited. */
  async stop(): Promise<void> {
    this.kill();
    await this.server?.exited;
  }
}

/**
 * The servers of one topology under one temporary root directory, plus a
 * watchdog shell that SIGKILLs them (and removes the directory) should the
 * process that started them die without calling `stop()`.
 */
export class ServerGroup {
  readonly root = mkdtempSync(join(tmpdir(), 'asyncq-cluster-'));
  readonly servers: ServerProcess[] = [];
  private readonly pidFile = join(this.root, 'pids');
  private watchdog: ChildProcess | undefined;
  private stopped = false;

  constructor() {
    installExitHook();
    liveGroups.add(this);
  }

  add(port: number, name: string, spec: (dir: string) => ServerSpec): ServerProcess {
    const dir = join(this.root, name);
    mkdirSync(dir, { recursive: true });
    const s = new ServerProcess(port, dir, spec(dir), () => this.writePids());
    this.servers.push(s);
    return s;
  }

  byPort(port: number): ServerProcess {
    const s = this.servers.find((x) => x.port === port);
    if (!s) throw new Error(`no server of this group listens on port ${port}`);
    return s;
  }

  startWatchdog(): void {
    // Polls the parent once a second; after it is gone, kills only PIDs that are still redis-servers.
    const script = [
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
      `for p in $(cat '${this.pidFile}' 2>/dev/null); do`,
      `  case "$(cat /proc/$p/comm 2>/dev/null)" in redis-server*|redis-sentinel*) kill -9 $p;; esac`,
      'done',
      `rm -rf '${this.root}'`,
    ].join('\n');
    this.watchdog = spawn('sh', ['-c', script], { stdio: 'ignore', detached: true });
    this.watchdog.unref();
  }

  private writePids(): void {
    if (this.stopped) return;
    writeFileSync(this.pidFile, this.servers.map((s) => s.pid).filter((p) => p !== undefined).join('\n'));
  }

  /** Kills every server and the watchdog by PID and removes the directory, synchronously. */
  killNow(): void {
    this.stopped = true;
    liveGroups.delete(this);
    for (const s of this.servers) s.kill();
    if (this.watchdog && this.watchdog.exitCode === null && this.watchdog.signalCode === null) this.watchdog.kill('SIGKILL');
    rmSync(this.root, { recursive: true, force: true });
  }

  /** {@link killNow}, then resolves once every server process has exited. */
  async stop(): Promise<void> {
    this.killNow();
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}

/**
 * What the Cluster and Sentinel servers add to {@link startEmbeddedRedis}'s settings (loopback, no
 * persistence): a replica that (re)attaches is served at once instead of after the default 5 s
 * batching delay.
 */
export function replicationArgs(): string[] {
  return ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'];
}
