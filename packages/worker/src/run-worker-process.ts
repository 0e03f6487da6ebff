import { safeMessage } from '@asyncq/core/internal';
import { loadHandlers } from './load-handlers.js';
import { Worker } from './worker.js';
import { createWorkerLogger, type LogFormat, type LogLevel } from './worker-logger.js';
import type { WorkerOptions } from './worker-options.js';

/** What a worker process is started with (the CLI's `asyncq worker` passes its flags here). */
export interface WorkerProcessOptions extends Omit<WorkerOptions, 'handleSignals' | 'registry' | 'queue' | 'workerRegistry'> {
  /** Path of the handler module. */
  handlers: string;
  /** Queue name. */
  queue: string;
  /** How log lines look on stderr (ignored when `logger` is given). @defaultValue 'pretty' */
  logFormat?: LogFormat;
  /**
   * The least severe level logged (ignored when `logger` is given). `info` adds a line per task and
   * the worker's lifecycle; the default keeps the output of a fleet of workers to what needs a look.
   * @defaultValue 'warn'
   */
  logLevel?: LogLevel;
  /** Called once the worker runs, with its id and metrics port. */
  onStarted?: (info: { id: string; metricsPort: number | undefined }) => void;
  /** How long the handler module may take to load. @defaultValue 30000 */
  loadTimeoutMs?: number;
}

/**
 * The body of a worker process: loads the handler module, runs a {@link Worker} until SIGTERM or
 * SIGINT (a second SIGINT ends the grace at once) or the queue is shut down and empty, logging to
 * stderr, and resolves once it has stopped. It never exits the process itself: its caller must,
 * since handlers abandoned by the stop (see `abandonMs`) may still keep the event loop busy; their
 * tasks come back to the queue `lease` ms after the process is gone.
 */
export async function runWorkerProcess(opts: WorkerProcessOptions): Promise<void> {
  const { handlers: path, queue, onStarted, logFormat, logLevel, loadTimeoutMs, ...workerOptions } = opts;
  const logger = workerOptions.logger ?? createWorkerLogger({ format: logFormat, level: logLevel ?? 'warn' });
  const handlers = await loadHandlers(path, loadTimeoutMs === undefined ? {} : { timeoutMs: loadTimeoutMs });
  const worker = new Worker(queue, handlers, { ...workerOptions, logger, handleSignals: true });
  const running = worker.run();
  if (onStarted) {
    void worker.started.then(
      () => {
        try {
          onStarted({ id: worker.id, metricsPort: worker.metricsPort });
        } catch (e) {
          logger.error({ err: safeMessage(e) }, 'the onStarted callback threw');
        }
      },
      () => {},
    );
  }
  await running;
}
