/**
 * `@asyncq/worker`: runs handler modules for a queue's tasks.
 *
 * @example
 * ```ts
 * import { Worker, defineHandlers } from '@asyncq/worker';
 *
 * const handlers = defineHandlers({
 *   send: async (data: { to: string }, ctx) => {
 *     await ctx.progress(50);
 *     return { sent: data.to };
 *   },
 * });
 * const worker = new Worker('emails', handlers, { concurrency: 16, metricsPort: 9464 });
 * await worker.run(); // until close(), SIGTERM or SIGINT
 * ```
 *
 * @packageDocumentation
 */
export { Worker } from './worker.js';
export { MAX_CONCURRENCY, type WorkerOptions } from './worker-options.js';
export type { WorkerEvents, TaskEventInfo, StopReason } from './worker-events.js';
export { TaskTimeout, WorkerStopping, HandlerCrashed } from './running-task.js';
export { defineHandlers, implement, type Handler, type HandlerMap, type Handlers, type TaskContext } from './handlers.js';
export { loadHandlers, HANDLER_LOAD_TIMEOUT_MS, type LoadHandlersOptions } from './load-handlers.js';
export { WorkerMetrics, serveMetrics, listenOn, taskLabeler, OTHER_TASK, type MetricsServer, type TaskMetrics } from './worker-metrics.js';
export { createWorkerLogger, silentLogger, LOG_LEVELS, type WorkerLogger, type WorkerLoggerOptions, type LogLevel, type LogFormat } from './worker-logger.js';
export type { HealthReport } from './redis-health.js';
export { runWorkerProcess, type WorkerProcessOptions } from './run-worker-process.js';
export { WORKER_VERSION } from './worker-version.js';
export { UnrecoverableError } from '@asyncq/core';
