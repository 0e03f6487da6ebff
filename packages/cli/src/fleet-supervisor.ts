import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { QueueAdmin, WorkerRegistry, type ConnectionOption, type FleetInfo } from '@asyncq/core';
import type { AutoscalePolicy } from './autoscale.js';
import { FleetAutoscaler } from './fleet-autoscaler.js';
import { WorkerSlots } from './worker-slots.js';

/** Options of a {@link FleetSupervisor}. */
export interface FleetOptions {
  handlers: string;
  queue: string;
  /** Workers to run until `asyncq scale` (or the autoscaler) sets a desired count for the queue. */
  workers: number;
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
        ...defined({ graceMs: opts.graceMs, heartbeatMs: opts.workerHeartbeatMs, lease: opts.lease, stalledInterval: opts.stalledInterval }),
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
    if (this.autoscaler && !this.stopping && (await this.registry.listFleets())[0]?.id === this.id) await this.autoscaler.step();
    await this.rebalance();
  }

  /** This fleet's share: the desired count split over live fleets ordered by start, earliest first. */
  private async rebalance(): Promise<void> {
    if (this.stopping) return;
    const desired = (await this.registry.desired()) ?? this.opts.workers;
    const ids = (await this.registry.listFleets()).map((f) => f.id);
    if (!ids.includes(this.id)) ids.push(this.id);
    const i = ids.indexOf(this.id);
    const share = Math.floor(desired / ids.length) + (i < desired % ids.length ? 1 : 0);
    if (share !== this.target) this.opts.log(`fleet ${this.id}: ${share} of ${desired} workers (${ids.length} fleet${ids.length === 1 ? '' : 's'})`);
    this.target = share;
    if (!this.stopping) this.workers.resize(share);
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
    };
    return this.registry.beatFleet(info, 3 * (this.opts.checkEveryMs ?? 2000));
  }
}

/** `o` without its undefined fields (the spec travels as JSON, and exact optional types forbid them). */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
