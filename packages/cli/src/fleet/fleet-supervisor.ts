import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { QueueAdmin, WorkerRegistry, type ConnectionOption, type FleetInfo } from '@asyncq/core';
import type { AutoscalePolicy } from './autoscale.js';
import { FleetAutoscaler } from './fleet-autoscaler.js';
import { WorkerSlots } from './worker-slots.js';

/** The most workers one fleet runs unless `--max-workers` says otherwise, whatever `asyncq scale` asks. */
export const DEFAULT_MAX_WORKERS = 256;
/** The highest `--max-workers`, and the highest count `asyncq scale` takes. */
export const MAX_MAX_WORKERS = 10_000;

/** Options of a {@link FleetSupervisor}. */
export interface FleetOptions {
  handlers: string;
  queue: string;
  /** Workers to run until `asyncq scale` (or the autoscaler) sets a desired count for the queue. */
  workers: number;
  /** The most workers this fleet runs, whatever share of the desired count falls to it. @defaultValue 256 */
  maxWorkers?: number;
  /** How long each worker's handler module may take to load, ms. @defaultValue the worker's (30 s) */
  loadTimeoutMs?: number;
  /** Workers refuse a Redis that may evict keys (--strict-redis). */
  strictRedis?: boolean;
  /** Concurrency of each worker process. */
  concurrency: number;
  /** Where Redis is: a URL or plain ioredis options (worker processes get it through their environment, never argv). */
  connection: ConnectionOption;
  prefix: string;
  /** Grace of each worker on stop, ms. */
  graceMs?: number;
  /** How long a task a worker holds stays its own without a renewal, ms. @defaultValue the worker's */
  lease?: number;
  /** How often an idle worker looks for tasks of crashed workers, ms. @defaultValue the worker's */
  stalledInterval?: number;
  /** Tasks each worker reserves ahead of its running ones. @defaultValue the worker's (0) */
  prefetch?: number;
  /** How often the fleet beats and re-checks its share, ms. @defaultValue 2000 */
  checkEveryMs?: number;
  /** Reports what the fleet does, one line each. */
  log: (line: string) => void;
  /** Size the fleet from the backlog and the flow of tasks: see `decideScale` in autoscale.ts. */
  autoscale?: AutoscalePolicy;
  /** Heartbeat of the worker processes, ms. @defaultValue 5000 */
  workerHeartbeatMs?: number;
  /** Worker i (its slot) serves metrics on this port + i. @defaultValue no metrics ports */
  metricsPortBase?: number;
  /** Address the workers' metrics servers bind to. @defaultValue '127.0.0.1' */
  metricsHost?: string;
}

/**
 * Keeps this host's share of a queue's desired worker count alive as worker processes (in
 * {@link WorkerSlots}: restarts with backoff per slot), follows `asyncq scale` live, shares the
 * count with every other fleet serving the queue (on any host) by a deterministic split over the
 * fleet registry, and with `autoscale`, the oldest fleet of the queue sizes it from the backlog.
 */
export class FleetSupervisor {
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 6)}`;
  private readonly registry: WorkerRegistry;
  private readonly admin: QueueAdmin;
  private readonly workers: WorkerSlots;
  private readonly autoscaler?: FleetAutoscaler;
  private readonly startedAt = Date.now();
  private target = 0;
  /** The share over `maxWorkers` last said in the log, so a cap is said once, not at every check. */
  private cappedShare?: number;
  private stopping = false;
  private timer?: NodeJS.Timeout;
  private offScale?: () => void;

  constructor(private readonly opts: FleetOptions) {
    const { connection, prefix, queue } = opts;
    this.registry = new WorkerRegistry(queue, { connection, prefix });
    this.admin = new QueueAdmin(queue, { connection, prefix });
    this.workers = new WorkerSlots({
      spec: {
        handlers: opts.handlers,
        queue,
        prefix,
        connection,
        concurrency: opts.concurrency,
        ...defined({ graceMs: opts.graceMs, heartbeatMs: opts.workerHeartbeatMs, lease: opts.lease, stalledInterval: opts.stalledInterval, loadTimeoutMs: opts.loadTimeoutMs, prefetch: opts.prefetch, strictRedis: opts.strictRedis }),
        ...(opts.metricsPortBase === undefined ? {} : { metricsHost: opts.metricsHost ?? '127.0.0.1' }),
      },
      ...(opts.metricsPortBase === undefined ? {} : { metricsPortBase: opts.metricsPortBase }),
      label: `fleet ${this.id}`,
      log: opts.log,
      finished: async () => (await this.admin.state()).shutdown !== '',
      onAllFinished: () => this.markFinished(),
    });
    this.finished = new Promise((resolve) => (this.markFinished = resolve));
    if (opts.autoscale) this.autoscaler = new FleetAutoscaler(opts.autoscale, { admin: this.admin, registry: this.registry }, opts.workers, opts.log);
  }

  /** Resolves once the queue was shut down and every worker stopped by itself: the fleet's work is over. */
  readonly finished: Promise<void>;
  private markFinished: () => void = () => {};

  /** Worker processes kept now (running, or crashed and about to be restarted). */
  get size(): number {
    return this.workers.size;
  }

  /** Worker processes running now. */
  get running(): number {
    return this.workers.running;
  }

  /** Worker processes restarted after a crash since the fleet started. */
  get restarts(): number {
    return this.workers.restarts;
  }

  /** The queue it serves. */
  get queue(): string {
    return this.opts.queue;
  }

  /** Where the running workers serve their metrics (`--metrics-port-base` + slot), by slot; none without metrics ports. */
  metricsTargets(): { slot: number; host: string; port: number }[] {
    const base = this.opts.metricsPortBase;
    if (base === undefined) return [];
    // A worker bound to every interface is reached on loopback.
    const bound = this.opts.metricsHost ?? '127.0.0.1';
    const host = bound === '0.0.0.0' || bound === '::' ? '127.0.0.1' : bound;
    return this.workers.runningSlots().map((slot) => ({ slot, host, port: base + slot }));
  }

  async start(): Promise<void> {
    await this.beat();
    this.offScale = await this.registry.onScale(() => void this.rebalance().catch(() => {}));
    await this.rebalance();
    this.timer = setInterval(() => void this.tick().catch(() => {}), this.opts.checkEveryMs ?? 2000);
  }

  /** Stops every worker gracefully (SIGTERM: they finish or hand back their tasks) and leaves the registry. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.offScale?.();
    await this.workers.stop();
    await this.registry.leaveFleet(this.id).catch(() => {});
    await this.registry.close();
    await this.admin.close();
  }

  private async tick(): Promise<void> {
    await this.beat();
    // One fleet decides for the queue, the oldest; every fleet follows the count it sets.
    if (this.autoscaler && !this.stopping && (await this.liveFleets())[0]?.id === this.id) await this.autoscaler.step();
    await this.rebalance();
  }

  /** This fleet's share: the desired count split over live fleets ordered by start, earliest first, at most `maxWorkers`. */
  private async rebalance(): Promise<void> {
    if (this.stopping) return;
    const desired = (await this.registry.desired()) ?? this.opts.workers;
    const ids = (await this.liveFleets()).map((f) => f.id);
    if (!ids.includes(this.id)) ids.push(this.id);
    const i = ids.indexOf(this.id);
    const asked = Math.floor(desired / ids.length) + (i < desired % ids.length ? 1 : 0);
    const max = this.opts.maxWorkers ?? 256;
    const share = Math.min(asked, max);
    if (asked > max && this.cappedShare !== asked) {
      this.opts.log(`fleet ${this.id}: its share of the ${desired} workers asked for (asyncq scale) is ${asked}, over its cap: it runs ${max} (raise the cap with --max-workers)`);
    }
    this.cappedShare = asked > max ? asked : undefined;
    if (share !== this.target) this.opts.log(`fleet ${this.id}: ${share} of ${desired} workers (${ids.length} fleet${ids.length === 1 ? '' : 's'})`);
    this.target = share;
    if (!this.stopping) this.workers.resize(share);
  }

  /**
   * The live fleets of the queue, oldest first. A fleet of this process table whose process is gone (killed
   * outright, so it never left) is removed from the registry rather than counted until its entry
   * expires: a fleet restarted after a SIGKILL would otherwise run a share for two.
   */
  private async liveFleets(): Promise<FleetInfo[]> {
    const fleets = await this.registry.listFleets();
    const dead = PROCESS_SPACE === undefined ? [] : fleets.filter((f) => f.id !== this.id && f.processSpace === PROCESS_SPACE && !processAlive(Number(f.pid)));
    for (const f of dead) await this.registry.leaveFleet(f.id);
    return fleets.filter((f) => !dead.includes(f));
  }

  private beat(): Promise<void> {
    const info: FleetInfo = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      queue: this.opts.queue,
      workers: this.workers.running,
      startedAt: this.startedAt,
      lastHeartbeat: Date.now(),
      ...(PROCESS_SPACE === undefined ? {} : { processSpace: PROCESS_SPACE }),
    };
    return this.registry.beatFleet(info, 3 * (this.opts.checkEveryMs ?? 2000));
  }
}

/**
 * This process's process table: the machine's boot id and its pid namespace (Linux). Two fleets
 * with the same one see each other's pids; containers sharing a host name but not a pid
 * namespace, and machines sharing one, do not. Undefined where /proc cannot tell.
 */
const PROCESS_SPACE = ((): string | undefined => {
  try {
    return `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}/${readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return undefined;
  }
})();

/**
 * True while process `pid` of this process table runs. Our own pid is not another fleet's: an entry with it
 * and another id is a fleet that ran in a process before this one (a container restarted as pid 1).
 */
function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // it runs, as another user
  }
}

/** `o` without its undefined fields (the spec travels as JSON, and exact optional types forbid them). */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
