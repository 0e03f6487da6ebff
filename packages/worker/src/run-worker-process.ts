import { loadHandlers } from './load-handlers.js';
import { Worker } from './worker.js';
import type { WorkerOptions } from './worker-options.js';

/** What a worker process is started with (the CLI's `asyncq worker` passes its flags here). */
export interface WorkerProcessOptions extends Omit<WorkerOptions, 'handleSignals' | 'registry' | 'queue' | 'workerRegistry'> {
  /** Path of the handler module. */
  handlers: string;
  /** Queue name. */
  queue: string;
  /** Called once the worker runs, with its id and metrics port. */
  onStarted?: (info: { id: string; metricsPort: number | undefined }) => void;
}

/**
 * The body of a worker process: loads the handler module, runs a {@link Worker} until SIGTERM or
 * SIGINT (a second SIGINT stops at once) or the queue is shut down and empty, and resolves once it
 * has stopped. It never exits the process itself: its caller decides the exit code.
 */
export async function runWorkerProcess(opts: WorkerProcessOptions): Promise<void> {
  const { handlers: path, queue, onStarted, ...workerOptions } = opts;
  const handlers = await loadHandlers(path);
  const worker = new Worker(queue, handlers, { ...workerOptions, handleSignals: true });
  const running = worker.run();
  if (onStarted) void worker.started.then(() => onStarted({ id: worker.id, metricsPort: worker.metricsPort }), () => {});
  await running;
}

