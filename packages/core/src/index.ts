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
 * @packageDocumentation
 */
export { Queue, PriorityQueue, LifoQueue } from './queue.js';
export { LocalQueue } from './local-queue.js';
export {
  AsyncqError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  TaskDoneError,
  WaitAborted,
  QueueClosed,
  LeaseLost,
  ConfigError,
  PayloadError,
  RedisUnreachable,
  UnrecoverableError,
  TaskFailed,
  TaskNotFound,
} from './errors.js';
export { defineTask, type TaskDefinition } from './task-definition.js';
export { assertJsonSafe } from './payload.js';
export { checkInt } from './options.js';
export { queueKeys, type QueueKeys } from './queue-keys.js';
export { listQueues } from './list-queues.js';
export { connectRedis } from './connection.js';
export { startEmbeddedRedis, type EmbeddedRedis, type EmbeddedRedisOptions } from './embedded-redis.js';
export type {
  AsyncQueue,
  BackoffOptions,
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
  Task,
  WaitOptions,
  WorkerInfo,
  FleetInfo,
  TaskState,
  TaskSummary,
} from './types.js';
