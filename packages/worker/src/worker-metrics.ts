import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Label names of every task metric. */
type TaskLabels = 'queue' | 'task';

/** One queue and task name's metrics, with their labels bound. */
export interface TaskMetrics {
  completed: ReturnType<Counter<TaskLabels>['labels']>;
  failedFinal: ReturnType<Counter<TaskLabels | 'final'>['labels']>;
  failedRetrying: ReturnType<Counter<TaskLabels | 'final'>['labels']>;
  retried: ReturnType<Counter<TaskLabels>['labels']>;
  cancelled: ReturnType<Counter<TaskLabels>['labels']>;
  duration: ReturnType<Histogram<TaskLabels>['labels']>;
  wait: ReturnType<Histogram<TaskLabels>['labels']>;
  active: ReturnType<Gauge<TaskLabels>['labels']>;
}

/** Buckets in seconds: from a no-op task to a long job. */
/** prom-client default metrics that are gauges named like counters (sums of their labelled gauge). */
const DEFAULT_GAUGES_NAMED_AS_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

/**
 * A worker's Prometheus metrics, in a registry of its own (never prom-client's global default, so
 * importing asyncq registers nothing): the task counters and histograms PRODUCT.md names, plus
 * the default process metrics.
 */
export class WorkerMetrics {
  readonly registry: Registry;
  readonly completed: Counter<TaskLabels>;
  readonly failed: Counter<TaskLabels | 'final'>;
  readonly retried: Counter<TaskLabels>;
  readonly cancelled: Counter<TaskLabels>;
  readonly duration: Histogram<TaskLabels>;
  readonly wait: Histogram<TaskLabels>;
  readonly active: Gauge<TaskLabels>;
  /** Schedule occurrences this worker enqueued (it fired them; another worker fires the rest). */
  readonly scheduleRuns: Counter<'queue' | 'schedule'>;
  /** How late each occurrence this worker enqueued was: its due time to its put, in seconds. */
  readonly scheduleLateness: Histogram<'queue' | 'schedule'>;

  /** `registry`: where to register (default: a new one, with the default process metrics). */
  constructor(registry?: Registry) {
    this.registry = registry ?? new Registry();
    if (!registry) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client's totals of the labelled nodejs_active_* gauges are gauges named *_total, which
      // `promtool check metrics` refuses (exit 3): sum() of the labelled gauge gives the same.
      for (const name of DEFAULT_GAUGES_NAMED_AS_COUNTERS) this.registry.removeSingleMetric(name);
    }
    const registers = [this.registry];
    this.completed = new Counter({
      name: 'asyncq_tasks_completed_total',
      help: 'Tasks finished successfully.',
      labelNames: ['queue', 'task'],
      registers,
    });
    this.failed = new Counter({
      name: 'asyncq_tasks_failed_total',
      help: 'Task attempts that failed; final="true" when the task failed for good.',
      labelNames: ['queue', 'task', 'final'],
      registers,
    });
    this.retried = new Counter({
      name: 'asyncq_tasks_retried_total',
      help: 'Failed attempts that will be retried.',
      labelNames: ['queue', 'task'],
      registers,
    });
    this.cancelled = new Counter({
      name: 'asyncq_tasks_cancelled_total',
      help: 'Tasks this worker took that were cancelled (their handler told through ctx.signal, or never started).',
      labelNames: ['queue', 'task'],
      registers,
    });
    this.duration = new Histogram({
      name: 'asyncq_task_duration_seconds',
      help: 'Time a handler ran, per attempt.',
      labelNames: ['queue', 'task'],
      buckets: BUCKETS,
      registers,
    });
    this.wait = new Histogram({
      name: 'asyncq_task_wait_seconds',
      help: 'Time from a task becoming ready to a worker starting it.',
      labelNames: ['queue', 'task'],
      buckets: BUCKETS,
      registers,
    });
    this.active = new Gauge({
      name: 'asyncq_tasks_active',
      help: 'Tasks running now.',
      labelNames: ['queue', 'task'],
      registers,
    });
    this.scheduleRuns = new Counter({
      name: 'asyncq_schedule_runs_total',
      help: 'Schedule occurrences this worker enqueued.',
      labelNames: ['queue', 'schedule'],
      registers,
    });
    this.scheduleLateness = new Histogram({
      name: 'asyncq_schedule_lateness_seconds',
      help: 'Time from an occurrence being due to its being enqueued.',
      labelNames: ['queue', 'schedule'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 60, 300, 3600],
      registers,
    });
  }

  private readonly children = new Map<string, Map<string, TaskMetrics>>();

  /** The metrics of one queue and task name, label sets resolved once (the per-task path stays cheap). */
  forTask(queue: string, task: string): TaskMetrics {
    let byTask = this.children.get(queue);
    if (!byTask) this.children.set(queue, (byTask = new Map()));
    const known = byTask.get(task);
    if (known) return known;
    const labels = { queue, task };
    const created: TaskMetrics = {
      completed: this.completed.labels(labels),
      failedFinal: this.failed.labels({ ...labels, final: 'true' }),
      failedRetrying: this.failed.labels({ ...labels, final: 'false' }),
      retried: this.retried.labels(labels),
      cancelled: this.cancelled.labels(labels),
      duration: this.duration.labels(labels),
      wait: this.wait.labels(labels),
      active: this.active.labels(labels),
    };
    byTask.set(task, created);
    return created;
  }

  /** Counts one schedule occurrence this worker enqueued, and how late it was. */
  scheduleFired(queue: string, f: { schedule: string; latenessMs: number }): void {
    this.scheduleRuns.inc({ queue, schedule: f.schedule });
    this.scheduleLateness.observe({ queue, schedule: f.schedule }, f.latenessMs / 1000);
  }

  /** Serves this registry: see {@link serveMetrics}. */
  serve(port: number, host: string, health: () => object): Promise<MetricsServer> {
    return serveMetrics(this.registry, port, host, health);
  }
}

/** A running metrics server. */
export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves on `host:port` (port 0 picks a free one): `/metrics` (Prometheus text from `registry`);
 * `/healthz`, JSON `{ status: 'ok', ...health() }` with HTTP 200, or 503 when `health()` reports a
 * `status` other than `'ok'` (a worker does while Redis is unreachable); and `/livez`, 200 while the
 * process answers at all.
 */
export async function serveMetrics(registry: Registry, port: number, host: string, health: () => object): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    } else if (req.method === 'GET' && path === '/healthz') {
      const body = { status: 'ok', ...health() };
      res.writeHead(body.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } else if (req.method === 'GET' && path === '/livez') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'live', pid: process.pid }));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /livez\n');
    }
  });
  return listenOn(server, port, host);
}

/** Starts `server` on `host:port` (0: any free port); rejects with the listen error (EADDRINUSE...). */
export async function listenOn(server: Server, port: number, host: string): Promise<MetricsServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The `task` label of tasks whose name is not one the worker knows. */
export const OTHER_TASK = 'other';

/** How many names a worker with one handler for every task labels on their own, before `other`. */
export const MAX_LEARNED_TASK_NAMES = 20;

/**
 * The `task` label for a task name: any producer can name tasks, and each distinct label is a new
 * time series in every worker, so only names the worker knows get one. With a map of handlers,
 * those are its names; with one handler for every task, the first {@link MAX_LEARNED_TASK_NAMES}
 * names it sees. Everything else is `other`.
 */
export function taskLabeler(known: readonly string[] | undefined): (name: string) => string {
  if (known) {
    const names = new Set(known);
    return (name) => (names.has(name) ? name : OTHER_TASK);
  }
  const learned = new Set<string>();
  return (name) => {
    if (learned.has(name)) return name;
    if (learned.size >= MAX_LEARNED_TASK_NAMES) return OTHER_TASK;
    learned.add(name);
    return name;
  };
}
