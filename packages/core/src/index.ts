/**
 * `@asyncq/core`: asyncio.Queue semantics across processes and machines.
 *
 * @example
 * ```ts
 * import { Queue } from '@asyncq/core';
 *
 * const q = new Queue<number>('numbers', { connection: 'redis://127.0.0.1:6379', maxsize: 100 });
 * await q.put(21);
 * const n = await q.get();      // in any process
 * console.log(n * 2);
 * await q.taskDone();
 * await q.join();               // resolves once every task is finished, cluster-wide
 * await q.close();
 * ```
 *
 * What the sibling packages (producer, worker, CLI) share with the core but users do not call sits
 * behind `@asyncq/core/internal` (see ARCHITECTURE.md).
 *
 * @packageDocumentation
 */
export { Queue, PriorityQueue, LifoQueue } from './queue.js';
export { LocalQueue } from './local/local-queue.js';
export { QueueAdmin, type QueueAdminOptions, type AdminCounts, type QueueState, type QueueTotals, type TaskDetails, type HistoryPoint } from './redis/queue-admin.js';
export type { GroupBacklog, QueueLimits, RateLimit, LimitsStatus } from './redis/queue-limits.js';
export type { TaskRun } from './redis/task-records.js';
export { RateLimited } from './rate-limited.js';
export type { CancelStatus } from './redis/script-types.js';
export { WorkerRegistry, type WorkerRegistryOptions } from './redis/worker-registry.js';
export {
  AsyncqError,
  type AsyncqErrorCode,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  TaskDoneError,
  WaitAborted,
  QueueClosed,
  LeaseLost,
  ConfigError,
  PayloadError,
  UnrecoverableError,
  TaskFailed,
  TaskNotFound,
  TaskCancelled,
} from './errors.js';
export {
  RedisUnreachable,
  RedisRefused,
  RedisError,
  NoRedisServer,
  QueueDataLost,
  type DataLoss,
  QueueCorrupt,
  RedisOutOfMemory,
  RedisMisconfigured,
} from './server-errors.js';
export {
  type ScheduleSpec,
  type ScheduleTemplate,
  type ScheduleOptions,
  type ScheduleCatchUp,
  type ScheduleInfo,
} from './schedule-spec.js';
export type { ScheduleFiring, FiredOccurrence } from './redis/schedule-book.js';
export { taskRef, type TaskRef, type TaskRefState, type CancelOptions, type FlowRef, type FlowStep, type FlowStepOptions, type FlowOptions, type TaskSource } from './task-ref.js';
export { gather, asCompleted, wait, waitFor, type GatherOptions, type AsCompletedOptions, type WaitManyOptions, type WaitForOptions, type ReturnWhen } from './task-combinators.js';
export { taskGroup, TaskGroup, type TaskGroupOptions } from './task-group.js';
export { defineTask, type TaskDefinition } from './task-definition.js';
export type { AsyncQueue, QueueCapabilities, Task } from './async-queue.js';
export type {
  BackoffOptions,
  ClusterConnection,
  ConnectionOption,
  FailedTask,
  LocalQueueOptions,
  PutManyItem,
  PutManyOptions,
  PutOptions,
  QueueCounts,
  QueueOptions,
  QueueOrder,
  ShutdownOptions,
  UrlConnection,
  WaitOptions,
  WorkerInfo,
  FleetInfo,
  TaskState,
  TaskSummary,
} from './types.js';

// Coordination: asyncio's synchronization primitives across processes (packages/core/src/sync/).
export { Lock, type LockOptions } from './sync/lock.js';
export { Event, type EventOptions } from './sync/event.js';
export { Condition, type ConditionOptions } from './sync/condition.js';
export { Semaphore } from './sync/semaphore.js';
export { BoundedSemaphore } from './sync/bounded-semaphore.js';
export { Barrier } from './sync/barrier.js';
export { type PrimitiveOptions, type SemaphoreOptions, type BarrierOptions, type HoldContext } from './sync/sync-options.js';
export { LockNotHeld, SemaphoreOverReleased, BrokenBarrier, PrimitiveClosed } from './sync/sync-errors.js';
