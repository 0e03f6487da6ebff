import type { EventEmitter } from 'node:events';
import { safeMessage, type ErrorFacts } from '@asyncq/core/internal';
import type { WorkerLogger } from './worker-logger.js';

/** The task an event is about. */
export interface TaskEventInfo {
  /** The task id. */
  id: string;
  /** The task name. */
  name: string;
  /** 1 for the first try. */
  attempt: number;
  /** How many attempts the task may have in all. */
  attempts: number;
}

/** Why a worker stops: `Redis refused` when Redis refuses what it needs (an ACL), which no retry mends. */
export type StopReason = 'close' | 'SIGTERM' | 'SIGINT' | 'queue shut down' | 'Redis refused';

/**
 * The events a {@link Worker} emits, each with one payload object. A listener that throws is
 * logged and never breaks the worker; `error` is emitted only while someone listens to it.
 */
export interface WorkerEvents {
  /** Registered, and about to take tasks. */
  started: [info: { id: string; queue: string; concurrency: number; pid: number }];
  /** A task's handler starts. */
  active: [task: TaskEventInfo];
  /** A task finished successfully. */
  completed: [task: TaskEventInfo & { result: unknown; durationMs: number }];
  /** An attempt failed; `willRetry` says whether the task comes back for another one. */
  failed: [task: TaskEventInfo & { error: ErrorFacts; durationMs: number; willRetry: boolean }];
  /**
   * A task this worker took was cancelled (`ref.cancel()`, `asyncq cancel`...): its handler's
   * `ctx.signal` aborted with `TaskCancelled` (`started` false: it was cancelled before its handler
   * started, which then never ran). Nothing is recorded for it; a value its handler still returns
   * is discarded and logged.
   */
  cancelled: [task: TaskEventInfo & { reason: string; by: string; started: boolean }];
  /** A task this worker ran is no longer its own (its lease was lost): its outcome was not recorded. */
  stalled: [task: TaskEventInfo & { reason: string }];
  /** Nothing is running and no task is ready. */
  drained: [];
  /** Something went wrong that no task outcome shows: Redis trouble, a crash no task can be blamed for. */
  error: [error: Error];
  /** A stop began: no more tasks are taken; running ones get `graceMs`. */
  stopping: [info: { reason: StopReason; graceMs: number; running: number }];
  /** The worker stopped: how many tasks it handed back, and how many handlers it abandoned. */
  stopped: [info: { handedBack: number; abandoned: number }];
}

/**
 * Emits without ever throwing into the worker: nothing happens when no one listens (an `error`
 * event with no listener would otherwise throw), and a listener that throws is logged.
 */
export function emitSafely<K extends keyof WorkerEvents>(
  emitter: EventEmitter<WorkerEvents>,
  log: WorkerLogger,
  event: K,
  ...args: WorkerEvents[K]
): void {
  if (emitter.listenerCount(event) === 0) return;
  try {
    (emitter.emit as (e: K, ...a: WorkerEvents[K]) => boolean)(event, ...args);
  } catch (e) {
    log.error({ event, err: safeMessage(e) }, `a "${event}" listener threw`);
  }
}
