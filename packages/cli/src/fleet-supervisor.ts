import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { QueueAdmin, WorkerRegistry, type ConnectionOption, type FleetInfo } from '@asyncq/core';

/** Options of a {@link FleetSupervisor}. */
export interface FleetOptions {
  handlers: string;
  queue: string;
  /** Workers to run until `asyncq scale` sets a desired count for the queue. */
  workers: number;
  /** Concurrency of each worker process. */
  concurrency: number;
  /** A redis:// URL (worker processes get it on their command line). */
  redisUrl: string;
  prefix: string;
  /** Grace of each worker on stop, ms. */
  graceMs?: number;
  /** How often the fleet beats and re-checks its share, ms. @defaultValue 2000 */
  checkEveryMs?: number;
  /** Reports what the fleet does, one line each. */
  log: (line: string) => void;
  /** Size the fleet from the backlog: see {@link AutoscaleOptions}. */
  autoscale?: AutoscaleOptions;
  /** Heartbeat of the worker processes, ms (their done counters feed the autoscaler). @defaultValue 5000 */
  workerHeartbeatMs?: number;
  /** Worker i (the lowest free slot) serves metrics on this port + i. @defaultValue no metrics ports */
  metricsPortBase?: number;
  /** Address the workers' metrics servers bind to. @defaultValue '127.0.0.1' */
  metricsHost?: string;
}

/**
 * Autoscaling: the desired worker count follows the backlog and the measured rate per worker, so
 * that the unfinished tasks would drain within `drainTargetS`, bounded by `min` and `max`. It grows
 * at once and shrinks only after the lower count held for `cooldownS`, so it does not flap. Only the
 * oldest fleet of a queue decides; every fleet follows the count it sets.
 */
export interface AutoscaleOptions {
  min: number;
  max: number;
  drainTargetS: number;
  cooldownS: number;
}

interface Slot {
  /** The lowest number no other live worker has: its metrics port is metricsPortBase + index. */
  index: number;
  child: ChildProcess;
  startedAt: number;
  retiring: boolean;
}

const BIN = new URL('./bin.js', import.meta.url).pathname;
/** Restart delays grow from this, doubling per recent crash, up to MAX_BACKOFF_MS. */
const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** This many crashes within CRASH_WINDOW_MS is a crash loop, reported as such. */
const CRASH_LOOP = 5;
const CRASH_WINDOW_MS = 60_000;

/**
 * Keeps this host's share of a queue's desired worker count alive as `asyncq worker` processes:
 * restarts crashed ones with exponential backoff, reports a crash loop, follows `asyncq scale`
 * live, and shares the count with every other fleet serving the queue (on any host) by a
 * deterministic split over the fleet registry.
 */
export class FleetSupervisor {
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 6)}`;
  private readonly registry: WorkerRegistry;
  private readonly admin: QueueAdmin;
  private readonly slots = new Set<Slot>();
  private readonly crashes: number[] = [];
  private readonly startedAt = Date.now();
  private target = 0;
  private pendingRestarts = 0;
  private stopping = false;
  private timer?: NodeJS.Timeout;
  private offScale?: () => void;
  private lastStderr = '';
  /** Finished-task totals of the queue's workers over the last half minute: the autoscaler's rate. */
  private readonly finishedSamples: { at: number; total: number }[] = [];
  private lowSince?: number;
  private lastScaleAt = 0;

  constructor(private readonly opts: FleetOptions) {
    this.registry = new WorkerRegistry(opts.queue, { connection: opts.redisUrl as ConnectionOption, prefix: opts.prefix });
    this.admin = new QueueAdmin(opts.queue, { connection: opts.redisUrl as ConnectionOption, prefix: opts.prefix });
  }

  /** Worker processes running now. */
  get size(): number {
    return [...this.slots].filter((s) => !s.retiring).length;
  }

  async start(): Promise<void> {
    await this.beat();
    this.offScale = await this.registry.onScale(() => void this.rebalance().catch(() => {}));
    await this.rebalance();
    this.timer = setInterval(
      () => void this.beat().then(() => this.autoscaleStep()).then(() => this.rebalance()).catch(() => {}),
      this.opts.checkEveryMs ?? 2000,
    );
  }

  /** Stops every worker gracefully (SIGTERM: they finish or hand back their tasks) and leaves the registry. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.offScale?.();
    await Promise.all([...this.slots].map((s) => this.retire(s)));
    await this.registry.leaveFleet(this.id).catch(() => {});
    await this.registry.close();
    await this.admin.close();
  }

  /** This fleet's share: the desired count split over live fleets ordered by start, earliest first. */
  private async rebalance(): Promise<void> {
    if (this.stopping) return;
    const desired = (await this.registry.desired()) ?? this.opts.workers;
    const fleets = await this.registry.listFleets();
    const ids = fleets.map((f) => f.id);
    if (!ids.includes(this.id)) ids.push(this.id);
    const i = ids.indexOf(this.id);
    const share = Math.floor(desired / ids.length) + (i < desired % ids.length ? 1 : 0);
    if (share !== this.target) this.opts.log(`fleet ${this.id}: ${share} of ${desired} workers (${ids.length} fleet${ids.length === 1 ? '' : 's'})`);
    this.target = share;
    this.converge();
  }

  /** One autoscaling decision, by the oldest fleet only. */
  private async autoscaleStep(): Promise<void> {
    const auto = this.opts.autoscale;
    if (!auto || this.stopping) return;
    const fleets = await this.registry.listFleets();
    if (fleets[0]?.id !== this.id) return;
    const [counts, workers, current] = await Promise.all([this.admin.counts(), this.registry.list(), this.registry.desired()]);
    const now = Date.now();
    const total = workers.reduce((a, w) => a + w.done + w.failed, 0);
    this.finishedSamples.push({ at: now, total });
    while (this.finishedSamples.length > 2 && this.finishedSamples[0]!.at < now - 30_000) this.finishedSamples.shift();
    const first = this.finishedSamples[0]!;
    const rate = now > first.at ? Math.max(0, total - first.total) / ((now - first.at) / 1000) : 0;
    const perWorker = workers.length > 0 ? rate / workers.length : 0;
    const have = current ?? this.opts.workers;
    let want: number;
    if (counts.unfinished === 0) want = auto.min;
    else if (perWorker > 0) want = Math.ceil(counts.unfinished / (perWorker * auto.drainTargetS));
    else want = have + 1; // a backlog and no measured rate yet: grow one step at a time
    want = Math.min(auto.max, Math.max(auto.min, want));
    if (want > have) {
      this.lowSince = undefined;
      if (now - this.lastScaleAt < (this.opts.checkEveryMs ?? 2000)) return;
    } else if (want < have) {
      this.lowSince ??= now;
      if (now - this.lowSince < auto.cooldownS * 1000) return;
    } else {
      this.lowSince = undefined;
      if (current !== undefined) return;
    }
    this.lastScaleAt = now;
    this.lowSince = undefined;
    this.opts.log(
      `autoscale: ${counts.unfinished} unfinished, ${perWorker.toFixed(1)} tasks/s per worker, drain target ${auto.drainTargetS} s: ${have} -> ${want} workers`,
    );
    await this.registry.setDesired(want);
  }

  private converge(): void {
    if (this.stopping) return;
    while (this.size + this.pendingRestarts < this.target) this.spawnWorker();
    const live = [...this.slots].filter((s) => !s.retiring).sort((a, b) => b.startedAt - a.startedAt);
    for (const s of live.slice(0, Math.max(0, this.size - this.target))) void this.retire(s);
  }

  private spawnWorker(): void {
    const args = [BIN, 'worker', this.opts.handlers, '-q', this.opts.queue, '-c', String(this.opts.concurrency), '--redis-url', this.opts.redisUrl, '--prefix', this.opts.prefix];
    if (this.opts.graceMs !== undefined) args.push('--grace', String(this.opts.graceMs));
    if (this.opts.workerHeartbeatMs !== undefined) args.push('--heartbeat', String(this.opts.workerHeartbeatMs));
    const taken = new Set([...this.slots].map((s) => s.index));
    let index = 0;
    while (taken.has(index)) index++;
    if (this.opts.metricsPortBase !== undefined) {
      args.push('--metrics-port', String(this.opts.metricsPortBase + index), '--metrics-host', this.opts.metricsHost ?? '127.0.0.1');
    }
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const slot: Slot = { index, child, startedAt: Date.now(), retiring: false };
    this.slots.add(slot);
    child.stderr!.on('data', (d: Buffer) => {
      const lines = d.toString().trim().split('\n');
      this.lastStderr = lines.at(-1) ?? this.lastStderr;
      for (const l of lines) this.opts.log(`worker ${child.pid}: ${l}`);
    });
    child.on('exit', (code, signal) => {
      this.slots.delete(slot);
      if (slot.retiring || this.stopping) return;
      this.crashed(code, signal);
    });
  }

  private crashed(code: number | null, signal: NodeJS.Signals | null): void {
    const now = Date.now();
    this.crashes.push(now);
    while (this.crashes.length > 0 && this.crashes[0]! < now - CRASH_WINDOW_MS) this.crashes.shift();
    const delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** (this.crashes.length - 1));
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (this.crashes.length >= CRASH_LOOP) {
      this.opts.log(
        `fleet ${this.id}: worker processes keep crashing (${this.crashes.length} in ${CRASH_WINDOW_MS / 1000} s; the last ${how}${this.lastStderr ? `: ${this.lastStderr}` : ''}); restarting in ${delay / 1000} s`,
      );
    } else {
      this.opts.log(`fleet ${this.id}: a worker ${how}; restarting it in ${delay / 1000} s`);
    }
    this.pendingRestarts++;
    setTimeout(() => {
      this.pendingRestarts--;
      this.converge();
    }, delay).unref();
  }

  private retire(slot: Slot): Promise<void> {
    slot.retiring = true;
    const { child } = slot;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      // A worker that does not stop within its grace and a margin is stopped hard.
      setTimeout(() => child.kill('SIGKILL'), (this.opts.graceMs ?? 10_000) + 5000).unref();
    });
  }

  private beat(): Promise<void> {
    const info: FleetInfo = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      queue: this.opts.queue,
      workers: this.size,
      startedAt: this.startedAt,
      lastHeartbeat: Date.now(),
    };
    return this.registry.beatFleet(info, 3 * (this.opts.checkEveryMs ?? 2000));
  }
}
