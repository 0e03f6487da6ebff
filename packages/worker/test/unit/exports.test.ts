import { exportedNames } from '@asyncq/test-support/basics';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as worker from '@asyncq/worker';

// The worker's surface, pinned twice so that an export added,
// removed or renamed by accident fails: at the type level (`pnpm typecheck`) and at run time, from
// the entry point's source (no import, so this file stays fast). Change the lists on purpose.

/** What `@asyncq/worker` exports as values, sorted. */
const WORKER_VALUES = [
  'HANDLER_LOAD_TIMEOUT_MS', 'HandlerCrashed', 'LOG_LEVELS', 'MAX_CONCURRENCY', 'OTHER_TASK',
  'TaskTimeout', 'UnrecoverableError', 'WORKER_VERSION', 'Worker', 'WorkerMetrics',
  'WorkerStopping', 'createWorkerLogger', 'defineHandlers', 'implement', 'listenOn',
  'loadHandlers', 'runWorkerProcess', 'serveMetrics', 'silentLogger', 'taskLabeler',
] as const;

/** What `@asyncq/worker` exports as types only, sorted. */
const WORKER_TYPES = [
  'Handler', 'HandlerMap', 'Handlers', 'HealthReport', 'LoadHandlersOptions', 'LogFormat',
  'LogLevel', 'MetricsServer', 'StopReason', 'TaskContext', 'TaskEventInfo', 'TaskMetrics',
  'WorkerEvents', 'WorkerLogger', 'WorkerLoggerOptions', 'WorkerOptions', 'WorkerProcessOptions',
] as const;

/** Each type export, referenced: one removed or renamed fails the typecheck. */
export type WorkerTypes = [
  worker.Handler, worker.HandlerMap, worker.Handlers, worker.HealthReport,
  worker.LoadHandlersOptions, worker.LogFormat, worker.LogLevel, worker.MetricsServer,
  worker.StopReason, worker.TaskContext, worker.TaskEventInfo, worker.TaskMetrics,
  worker.WorkerEvents, worker.WorkerLogger, worker.WorkerLoggerOptions, worker.WorkerOptions,
  worker.WorkerProcessOptions,
];

describe('@asyncq/worker exports', () => {
  it('exports exactly these values', () => {
    expectTypeOf<keyof typeof worker>().toEqualTypeOf<(typeof WORKER_VALUES)[number]>();
    expect(exportedNames(new URL('../../src/index.ts', import.meta.url)).values).toEqual([...WORKER_VALUES]);
  });

  it('exports exactly these types', () => {
    expect(exportedNames(new URL('../../src/index.ts', import.meta.url)).types).toEqual([...WORKER_TYPES]);
  });
});
