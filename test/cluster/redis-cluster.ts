/**
 * Throwaway Redis topologies for the cluster suite, started from the local
 * `redis-server` and `redis-cli` binaries (7.0 or newer), on free loopback
 * ports, each server in its own temporary directory, without persistence:
 *
 * - {@link startRedisCluster}: 3 masters + 3 replicas, made with
 *   `redis-cli --cluster create`, with a short node timeout so that a killed
 *   master's replica takes over within seconds;
 * - {@link startSentinelGroup}: one master, one replica and three sentinels
 *   (quorum 2) watching them, failing over about a second after the master dies.
 *
 * Every process is stopped by its PID in `stop()`; a watchdog shell also kills
 * them if the process that started them dies without stopping them (a vitest
 * worker killed on a timeout), so no redis-server outlives the suite.
 *
 * @example
 * ```ts
 * const cluster = await startRedisCluster();
 * const [first] = cluster.masters();
 * await cluster.killMaster(first!.port);
 * const { newMasterPort, ms } = await cluster.waitForPromotion(first!.port);
 * await cluster.stop();
 * ```
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePorts, sleep } from '@asyncq/test-support/basics';

export const HOST = '127.0.0.1';

/** Where one server listens. */
export interface NodeAddress {
  host: string;
  port: number;
}

/** A master as the cluster reports it: its slot ranges (inclusive) and the ports of its replicas. */
export interface MasterInfo {
  id: string;
  port: number;
  slots: [number, number][];
  replicas: number[];
}

/** What the global set-up hands to tests (plain data: it crosses into the test workers). */
export interface ClusterAddresses {
  /** Every node, masters and replicas: startup nodes for an ioredis `Cluster`. */
  nodes: NodeAddress[];
  /** The masters, ordered by their first slot. */
  masters: MasterInfo[];
}

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** @defaultValue 3 */
  masters?: number;
  /** Replicas per master. @defaultValue 1 */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a node may stay silent before it is
   * suspected. Failover of a killed master takes about twice this.
   * @defaultValue 1500
   */
  nodeTimeoutMs?: number;
  /** How long start-up may take, all waits included. @defaultValue 60000 */
  startTimeoutMs?: number;
}

/** The outcome of a failover the suite caused. */
export interface Promotion {
  /** The port of the replica that is master now. */
  newMasterPort: number;
  /** From the kill to every live node agreeing on the new master. */
  ms: number;
}

const TOTAL_SLOTS = 16384;

// ---------------------------------------------------------------------------------------------
// Binaries and ports

/**
 * Throws one line naming what is missing when `redis-server` or `redis-cli`
 * is not on PATH or older than 7.0 (the suite uses `--cluster-port` and 7.0's
 * `CLIENT PAUSE WRITE`).
 */
export function checkRedisBinaries(): void {
  for (const bin of ['redis-server', 'redis-cli']) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 });
    if (r.error) {
      const why = (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is not installed' : `does not run (${r.error.message})`;
      throw new Error(`the cluster suite needs ${bin} 7.0+ on PATH, and ${bin} ${why}: apt-get install redis-server (or brew install redis)`);
    }
    const major = Number(/(?:v=|redis-cli )(\d+)\./.exec(r.stdout)?.[1] ?? 0);
    if (major < 7) {
      throw new Error(`the cluster suite needs ${bin} 7.0+, found "${r.stdout.trim()}": install Redis 7 (apt-get install redis-server on a recent distribution)`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Talking to one node

/**
 * Runs `fn` on a fresh connection to one node and closes it. A fresh
 * connection per check keeps the waits below free of reconnect state: a node
 * that was killed simply fails the check (within `timeoutMs`).
 */
export async function withNode<T>(port: number, fn: (r: Redis) => Promise<T>, timeoutMs = 1500): Promise<T> {
  const r = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/** One command on one node. */
export function nodeCommand(port: number, command: string, ...args: (string | number)[]): Promise<unknown> {
  return withNode(port, (r) => r.call(command, ...args));
}

/** `INFO <section>` of a node as a field map. */
export async function nodeInfo(port: number, section: string): Promise<Map<string, string>> {
  return parseInfo((await nodeCommand(port, 'INFO', section)) as string);
}

/** Parses `INFO` or `CLUSTER INFO` text (`field:value` lines) into a map. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/** One line of `CLUSTER NODES`. */
interface ClusterNodeLine {
  id: string;
  port: number;
  flags: Set<string>;
  masterId: string | undefined;
  connected: boolean;
  slots: [number, number][];
}

/** Parses `CLUSTER NODES` (`id ip:port@bus[,host] flags master ping pong epoch link slot...`). */
export function parseClusterNodes(text: string): ClusterNodeLine[] {
  const out: ClusterNodeLine[] = [];
  for (const line of text.trim().split('\n')) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const port = Number(/:(\d+)@/.exec(f[1] ?? '')?.[1]);
    const slots: [number, number][] = [];
    for (const s of f.slice(8)) {
      if (s.startsWith('[')) continue; // a slot being migrated or imported: not owned yet
      const [a, b] = s.split('-').map(Number);
      if (a !== undefined) slots.push([a, b ?? a]);
    }
    out.push({
      id: f[0]!,
      port,
      flags: new Set((f[2] ?? '').split(',')),
      masterId: f[3] === '-' ? undefined : f[3],
      connected: f[7] === 'connected',
      slots,
    });
  }
  return out;
}

/**
 * Polls `check` every `everyMs` until it returns a value (not `undefined`),
 * or throws after `ms` with what the last attempt said was missing.
 */
async function waitUntil<T>(what: string, ms: number, check: () => Promise<T | string>, everyMs = 50): Promise<T> {
  const until = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      const r = await check();
      if (typeof r !== 'string') return r;
      last = r;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > until) throw new Error(`${what}: not reached within ${ms} ms (last check: ${last})`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

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

/** One redis-server (data node or sentinel) we started, restartable on the same port and directory. */
class ServerProcess {
  private proc: ChildProcess | undefined;
  private exitedPromise: Promise<void> = Promise.resolve();

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly args: string[],
    private readonly onPidsChanged: () => void,
  ) {}

  get pid(): number | undefined {
    return this.alive ? this.proc?.pid : undefined;
  }

  get alive(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Starts the server and resolves once it answers PING; fails with the tail of its log if it exits or stays silent. */
  async start(timeoutMs = 10_000): Promise<void> {
    const proc = spawn('redis-server', this.args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    this.exitedPromise = new Promise((resolve) => proc.once('exit', () => resolve()));
    const spawnError = new Promise<never>((_, reject) => proc.once('error', reject));
    spawnError.catch(() => {});
    this.onPidsChanged();
    try {
      await Promise.race([
        spawnError,
        waitUntil(`redis-server on port ${this.port} answering PING`, timeoutMs, async () => {
          if (!this.alive) throw new Error(`redis-server on port ${this.port} exited: ${stderr}${this.logTail()}`);
          return (await nodeCommand(this.port, 'PING')) === 'PONG' ? true : 'no PONG';
        }),
      ]);
    } catch (e) {
      this.kill();
      await this.exitedPromise;
      throw e;
    }
  }

  /** The end of the server's log file, for error messages. */
  logTail(): string {
    try {
      return readFileSync(join(this.dir, 'redis.log'), 'utf8').slice(-1500);
    } catch {
      return '';
    }
  }

  /** SIGKILL by PID (no-op when not running); synchronous, so it also works in an exit handler. */
  kill(): void {
    if (this.alive) this.proc!.kill('SIGKILL');
  }

  /** Kills the server and resolves once its process has exited. */
  async stop(): Promise<void> {
    this.kill();
    await this.exitedPromise;
  }
}

/**
 * The servers of one topology under one temporary root directory, plus a
 * watchdog shell that SIGKILLs them (and removes the directory) should the
 * process that started them die without calling `stop()`.
 */
class ServerGroup {
  readonly root = mkdtempSync(join(tmpdir(), 'asyncq-cluster-'));
  readonly servers: ServerProcess[] = [];
  private readonly pidFile = join(this.root, 'pids');
  private watchdog: ChildProcess | undefined;
  private stopped = false;

  constructor() {
    installExitHook();
    liveGroups.add(this);
  }

  add(port: number, name: string, args: (dir: string) => string[]): ServerProcess {
    const dir = join(this.root, name);
    mkdirSync(dir, { recursive: true });
    const s = new ServerProcess(port, dir, args(dir), () => this.writePids());
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

/** Settings that make a server start fast, keep nothing on disk and resync a replica at once. */
function baseArgs(port: number, dir: string): string[] {
  return [
    '--port', String(port),
    '--bind', HOST,
    '--dir', dir,
    '--logfile', join(dir, 'redis.log'),
    '--daemonize', 'no',
    '--save', '',
    '--appendonly', 'no',
    // A replica that (re)attaches is served at once instead of after the default 5 s batching delay.
    '--repl-diskless-sync', 'yes',
    '--repl-diskless-sync-delay', '0',
  ];
}

// ---------------------------------------------------------------------------------------------
// Redis Cluster

/** A running local Redis Cluster; see {@link startRedisCluster}. */
export class RedisCluster {
  private readonly killedAt = new Map<number, { at: number; id: string; replicas: number[] }>();
  private topology: MasterInfo[] = [];

  constructor(
    private readonly group: ServerGroup,
    private readonly expectedReplicas: number,
  ) {}

  /** Every node this cluster was started with (live or not): startup nodes for an ioredis `Cluster`. */
  get nodes(): NodeAddress[] {
    return this.group.servers.map((s) => ({ host: HOST, port: s.port }));
  }

  /** Ports of the nodes now running. */
  get livePorts(): number[] {
    return this.group.servers.filter((s) => s.alive).map((s) => s.port);
  }

  /** The masters as last read (by start-up, {@link refresh}, a wait), ordered by first slot. */
  masters(): MasterInfo[] {
    return this.topology.map((m) => ({ ...m, slots: m.slots.map((r) => [...r] as [number, number]), replicas: [...m.replicas] }));
  }

  /** Plain data for `provide()`. */
  addresses(): ClusterAddresses {
    return { nodes: this.nodes, masters: this.masters() };
  }

  /** Reads the topology again from a live node. */
  async refresh(): Promise<MasterInfo[]> {
    const port = this.livePorts[0];
    if (port === undefined) throw new Error('no node of the cluster is running');
    this.topology = mastersFrom(parseClusterNodes((await nodeCommand(port, 'CLUSTER', 'NODES')) as string));
    return this.masters();
  }

  /**
   * Waits until every running node says `cluster_state:ok` with all 16384
   * slots served, they all agree on which node serves which slots, none of
   * them is flagged as failing, and (with `replicas`, the default) every
   * master has its replicas attached with the replication link up.
   */
  async waitHealthy(ms = 30_000, opts: { replicas?: boolean } = {}): Promise<MasterInfo[]> {
    const wantReplicas = opts.replicas ?? true;
    this.topology = await waitUntil('a healthy cluster', ms, async () => {
      const live = this.livePorts;
      const views: MasterInfo[][] = [];
      for (const port of live) {
        const info = parseInfo((await nodeCommand(port, 'CLUSTER', 'INFO')) as string);
        if (info.get('cluster_state') !== 'ok') return `node ${port}: cluster_state:${info.get('cluster_state')}`;
        if (info.get('cluster_slots_ok') !== String(TOTAL_SLOTS)) return `node ${port}: cluster_slots_ok:${info.get('cluster_slots_ok')}`;
        const lines = parseClusterNodes((await nodeCommand(port, 'CLUSTER', 'NODES')) as string);
        const failing = lines.filter((l) => live.includes(l.port) && (l.flags.has('fail') || l.flags.has('fail?') || !l.connected && !l.flags.has('myself')));
        if (failing.length > 0) return `node ${port} sees ${failing.map((l) => `${l.port}(${[...l.flags].join(',')})`).join(' ')} failing`;
        views.push(mastersFrom(lines.filter((l) => live.includes(l.port))));
      }
      const first = JSON.stringify(views[0]?.map((m) => [m.port, m.slots]));
      if (views.some((v) => JSON.stringify(v.map((m) => [m.port, m.slots])) !== first)) return 'nodes disagree on who serves which slots';
      const masters = views[0] ?? [];
      if (masters.reduce((n, m) => n + m.slots.reduce((k, [a, b]) => k + b - a + 1, 0), 0) !== TOTAL_SLOTS) return 'slots not all assigned';
      if (wantReplicas) {
        for (const m of masters) {
          const replicas = views.map((v) => v.find((x) => x.port === m.port)?.replicas.length ?? 0);
          if (replicas.some((n) => n !== this.expectedReplicas)) return `master ${m.port} has ${replicas.join('/')} replicas in the nodes' views`;
          for (const r of m.replicas) {
            const repl = await nodeInfo(r, 'replication');
            if (repl.get('master_link_status') !== 'up' || repl.get('master_port') !== String(m.port)) {
              return `replica ${r} of ${m.port}: link ${repl.get('master_link_status')} to ${repl.get('master_port')}`;
            }
          }
        }
      }
      return masters;
    }, 100);
    return this.masters();
  }

  /** SIGKILLs the master on `port` (it must be a master now); returns when its process is gone. */
  async killMaster(port: number): Promise<{ killedAt: number; replicas: number[] }> {
    const m = (await this.refresh()).find((x) => x.port === port);
    if (!m) throw new Error(`port ${port} is not a master now (masters: ${this.topology.map((x) => x.port).join(', ')})`);
    const killedAt = Date.now();
    await this.group.byPort(port).stop();
    this.killedAt.set(port, { at: killedAt, id: m.id, replicas: m.replicas });
    return { killedAt, replicas: m.replicas };
  }

  /**
   * Waits until one of the replicas of the master killed on `port` is master
   * of its slots in the view of every running node, with `cluster_state:ok`
   * everywhere.
   */
  async waitForPromotion(port: number, ms = 30_000): Promise<Promotion> {
    const killed = this.killedAt.get(port);
    if (!killed) throw new Error(`no master on port ${port} was killed by killMaster()`);
    const newMasterPort = await waitUntil(`promotion of a replica of ${port}`, ms, async () => {
      let owner: number | undefined;
      for (const p of this.livePorts) {
        const info = parseInfo((await nodeCommand(p, 'CLUSTER', 'INFO')) as string);
        if (info.get('cluster_state') !== 'ok') return `node ${p}: cluster_state:${info.get('cluster_state')}`;
        const masters = mastersFrom(parseClusterNodes((await nodeCommand(p, 'CLUSTER', 'NODES')) as string));
        const heir = masters.find((m) => killed.replicas.includes(m.port) && m.slots.length > 0);
        if (!heir) return `node ${p} sees no replica of ${port} promoted yet`;
        if (owner !== undefined && owner !== heir.port) return `nodes disagree: ${owner} or ${heir.port}`;
        owner = heir.port;
      }
      return owner ?? 'no node is running';
    });
    const msTaken = Date.now() - killed.at;
    await this.refresh();
    return { newMasterPort, ms: msTaken };
  }

  /**
   * Starts again a node that was killed, on its port and directory: with its
   * `nodes.conf` it rejoins the cluster, as a replica of whoever serves its old
   * slots now (its data is gone: no persistence).
   */
  async restartNode(port: number): Promise<void> {
    await this.group.byPort(port).start();
    this.killedAt.delete(port);
  }

  /** Kills every node by PID and removes their directories. */
  stop(): Promise<void> {
    return this.group.stop();
  }
}

function mastersFrom(lines: ClusterNodeLine[]): MasterInfo[] {
  const masters = lines.filter((l) => l.flags.has('master') && !l.flags.has('fail') && l.slots.length > 0);
  return masters
    .map((m) => ({
      id: m.id,
      port: m.port,
      slots: [...m.slots].sort((a, b) => a[0] - b[0]),
      replicas: lines
        .filter((l) => l.masterId === m.id && (l.flags.has('slave') || l.flags.has('replica')) && !l.flags.has('fail'))
        .map((l) => l.port)
        .sort((a, b) => a - b),
    }))
    .sort((a, b) => (a.slots[0]?.[0] ?? 0) - (b.slots[0]?.[0] ?? 0));
}

/**
 * Starts a local Redis Cluster: `masters` × (1 + `replicasPerMaster`) nodes,
 * slots split evenly by `redis-cli --cluster create`, and waits until it is
 * healthy (see {@link RedisCluster.waitHealthy}).
 */
export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisCluster> {
  checkRedisBinaries();
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 1;
  const total = masters * (1 + replicas);
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  const group = new ServerGroup();
  try {
    group.startWatchdog();
    const ports = await freePorts(total * 2);
    for (let i = 0; i < total; i++) {
      const port = ports[i]!;
      const busPort = ports[total + i]!;
      group.add(port, `node-${port}`, (dir) => [
        ...baseArgs(port, dir),
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, 'nodes.conf'),
        // The bus port is picked free too, rather than the default port + 10000 that might be taken.
        '--cluster-port', String(busPort),
        '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 1500),
        // A replica may take over however long ago it last heard from its master.
        '--cluster-replica-validity-factor', '0',
      ]);
    }
    await Promise.all(group.servers.map((s) => s.start()));
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...group.servers.map((s) => `${HOST}:${s.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      { encoding: 'utf8', timeout: Math.max(5000, deadline - Date.now()) },
    );
    if (create.status !== 0) {
      throw new Error(`redis-cli --cluster create failed (${create.status ?? create.signal}): ${(create.stdout + create.stderr).slice(-1500)}`);
    }
    const cluster = new RedisCluster(group, replicas);
    const found = await cluster.waitHealthy(Math.max(1000, deadline - Date.now()));
    if (found.length !== masters) throw new Error(`expected ${masters} masters, the cluster has ${found.length}`);
    return cluster;
  } catch (e) {
    await group.stop();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Sentinel

/** Options of {@link startSentinelGroup}. */
export interface SentinelGroupOptions {
  /** The master's name in the sentinels' configuration. @defaultValue 'mymaster' */
  name?: string;
  /** `down-after-milliseconds`. @defaultValue 1000 */
  downAfterMs?: number;
  /** `failover-timeout`. @defaultValue 3000 */
  failoverTimeoutMs?: number;
  /** @defaultValue 60000 */
  startTimeoutMs?: number;
}

/** A master, one replica and three sentinels; see {@link startSentinelGroup}. */
export class SentinelGroup {
  private killed: { port: number; at: number } | undefined;

  constructor(
    private readonly group: ServerGroup,
    readonly name: string,
    private currentMaster: number,
    private currentReplica: number,
    private readonly sentinelPorts: number[],
  ) {}

  /** Where the sentinels listen: what ioredis' `sentinels` option takes. */
  get sentinels(): NodeAddress[] {
    return this.sentinelPorts.map((port) => ({ host: HOST, port }));
  }

  /** The master's port as of start-up or the last failover this group waited for. */
  get masterPort(): number {
    return this.currentMaster;
  }

  get replicaPort(): number {
    return this.currentReplica;
  }

  /** ioredis options for a client that finds the master through the sentinels. */
  connectionOptions(): { sentinels: NodeAddress[]; name: string } {
    return { sentinels: this.sentinels, name: this.name };
  }

  /** SIGKILLs the master; resolves when its process is gone. */
  async killMaster(): Promise<{ killedAt: number; port: number }> {
    const port = this.currentMaster;
    const at = Date.now();
    await this.group.byPort(port).stop();
    this.killed = { port, at };
    return { killedAt: at, port };
  }

  /**
   * Waits until every sentinel names the old replica as master and that
   * server says it is one (`ROLE`).
   */
  async waitForFailover(ms = 30_000): Promise<Promotion> {
    const killed = this.killed;
    if (!killed) throw new Error('killMaster() was not called');
    const heir = this.currentReplica;
    await waitUntil(`failover of ${this.name} to ${heir}`, ms, async () => {
      for (const s of this.sentinelPorts) {
        const addr = (await nodeCommand(s, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name)) as [string, string] | null;
        if (addr?.[1] !== String(heir)) return `sentinel ${s} names ${addr?.join(':')}`;
      }
      const role = (await nodeCommand(heir, 'ROLE')) as unknown[];
      return role[0] === 'master' ? true : `${heir} is still ${String(role[0])}`;
    });
    this.currentMaster = heir;
    this.currentReplica = killed.port;
    this.killed = undefined;
    return { newMasterPort: heir, ms: Date.now() - killed.at };
  }

  /** Kills every process by PID and removes their directories. */
  stop(): Promise<void> {
    return this.group.stop();
  }
}

/**
 * Starts a master, a replica of it and three sentinels (quorum 2) that
 * monitor it, and waits until the replica is in sync and every sentinel
 * knows the replica and the two other sentinels, so that a failover can start
 * as soon as the master dies.
 */
export async function startSentinelGroup(opts: SentinelGroupOptions = {}): Promise<SentinelGroup> {
  checkRedisBinaries();
  const name = opts.name ?? 'mymaster';
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  const group = new ServerGroup();
  try {
    group.startWatchdog();
    const [masterPort, replicaPort, ...sentinelPorts] = (await freePorts(5)) as [number, number, number, number, number];
    const master = group.add(masterPort, `master-${masterPort}`, (dir) => baseArgs(masterPort, dir));
    const replica = group.add(replicaPort, `replica-${replicaPort}`, (dir) => [...baseArgs(replicaPort, dir), '--replicaof', HOST, String(masterPort)]);
    await master.start();
    await replica.start();
    for (const port of sentinelPorts) {
      const s = group.add(port, `sentinel-${port}`, (dir) => {
        // A sentinel rewrites its configuration file, so it gets one of its own.
        const conf = join(dir, 'sentinel.conf');
        writeFileSync(
          conf,
          [
            `port ${port}`,
            `bind ${HOST}`,
            `dir ${dir}`,
            `logfile ${join(dir, 'redis.log')}`,
            `sentinel monitor ${name} ${HOST} ${masterPort} 2`,
            `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 1000}`,
            `sentinel failover-timeout ${name} ${opts.failoverTimeoutMs ?? 3000}`,
            `sentinel parallel-syncs ${name} 1`,
            '',
          ].join('\n'),
        );
        return [conf, '--sentinel'];
      });
      await s.start();
    }
    await waitUntil('a ready sentinel group', Math.max(1000, deadline - Date.now()), async () => {
      const repl = await nodeInfo(replicaPort, 'replication');
      if (repl.get('master_link_status') !== 'up') return `replica link ${repl.get('master_link_status')}`;
      for (const port of sentinelPorts) {
        const fields = (await nodeCommand(port, 'SENTINEL', 'MASTER', name)) as string[];
        const m = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
        if (m.get('flags') !== 'master') return `sentinel ${port}: flags ${m.get('flags')}`;
        if (m.get('num-slaves') !== '1') return `sentinel ${port} knows ${m.get('num-slaves')} replicas`;
        if (m.get('num-other-sentinels') !== '2') return `sentinel ${port} knows ${m.get('num-other-sentinels')} other sentinels`;
      }
      return true;
    }, 100);
    return new SentinelGroup(group, name, masterPort, replicaPort, sentinelPorts);
  } catch (e) {
    await group.stop();
    throw e;
  }
}
