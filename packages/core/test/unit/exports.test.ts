import { exportedNames } from '@asyncq/test-support/basics';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as core from '@asyncq/core';
import type * as internal from '@asyncq/core/internal';
import type * as testing from '@asyncq/core/testing';

// The core's public surface and its internal one (for the sibling packages), pinned twice so that an export added,
// removed or renamed by accident fails: at the type level (`pnpm typecheck`) and at run time, from
// the entry point's source (no import, so this file stays fast). Change the lists on purpose.

/** What `@asyncq/core` exports as values, sorted. */
const CORE_VALUES = [
  'AsyncqError', 'Barrier', 'BoundedSemaphore', 'BrokenBarrier', 'Condition', 'ConfigError',
  'Event', 'LeaseLost', 'LifoQueue', 'LocalQueue', 'Lock', 'LockNotHeld', 'NoRedisServer',
  'PayloadError', 'PrimitiveClosed', 'PriorityQueue', 'Queue', 'QueueAdmin', 'QueueClosed',
  'QueueCorrupt', 'QueueDataLost', 'QueueEmpty', 'QueueFull', 'QueueShutDown', 'RateLimited', 'RedisError',
  'RedisMisconfigured', 'RedisOutOfMemory', 'RedisRefused', 'RedisUnreachable', 'Semaphore',
  'SemaphoreOverReleased', 'TaskCancelled', 'TaskDoneError', 'TaskFailed', 'TaskGroup',
  'TaskNotFound', 'UnrecoverableError', 'WaitAborted', 'WorkerRegistry', 'asCompleted',
  'defineTask', 'gather', 'taskGroup', 'taskRef', 'wait', 'waitFor',
] as const;

/** What `@asyncq/core` exports as types only, sorted. */
const CORE_TYPES = [
  'AdminCounts', 'AsCompletedOptions', 'AsyncQueue', 'AsyncqErrorCode', 'BackoffOptions',
  'BarrierOptions', 'CancelOptions', 'CancelStatus', 'ClusterConnection', 'ConditionOptions',
  'ConnectionOption', 'DataLoss', 'EventOptions', 'FailedTask', 'FiredOccurrence', 'FleetInfo',
  'FlowOptions', 'FlowRef', 'FlowStep', 'FlowStepOptions', 'GatherOptions', 'GroupBacklog', 'HistoryPoint',
  'HoldContext', 'LimitsStatus', 'LocalQueueOptions', 'LockOptions', 'PrimitiveOptions',
  'PutManyItem', 'PutManyOptions', 'PutOptions', 'QueueAdminOptions', 'QueueCapabilities',
  'QueueCounts', 'QueueLimits', 'QueueOptions', 'QueueOrder', 'QueueState', 'QueueTotals',
  'RateLimit', 'ReturnWhen', 'ScheduleCatchUp', 'ScheduleFiring', 'ScheduleInfo',
  'ScheduleOptions', 'ScheduleSpec', 'ScheduleTemplate', 'SemaphoreOptions', 'ShutdownOptions',
  'Task', 'TaskDefinition', 'TaskDetails', 'TaskGroupOptions', 'TaskRef', 'TaskRefState', 'TaskRun',
  'TaskSource', 'TaskState', 'TaskSummary', 'UrlConnection', 'WaitForOptions', 'WaitManyOptions',
  'WaitOptions', 'WorkerInfo', 'WorkerRegistryOptions',
] as const;

/** Each type export, referenced: one removed or renamed fails the typecheck. */
export type CoreTypes = [
  core.AdminCounts, core.AsCompletedOptions, core.AsyncQueue<unknown>, core.AsyncqErrorCode,
  core.BackoffOptions, core.BarrierOptions, core.CancelOptions, core.CancelStatus,
  core.ClusterConnection, core.ConditionOptions, core.ConnectionOption, core.DataLoss,
  core.EventOptions, core.FailedTask,
  core.FiredOccurrence, core.FleetInfo, core.FlowOptions, core.FlowRef<unknown>, core.FlowStep, core.FlowStepOptions,
  core.GatherOptions, core.HistoryPoint, core.HoldContext, core.LimitsStatus, core.LocalQueueOptions, core.LockOptions,
  core.PrimitiveOptions, core.PutManyItem<unknown>, core.PutManyOptions, core.PutOptions,
  core.QueueAdminOptions, core.QueueCapabilities, core.QueueCounts, core.QueueOptions,
  core.QueueLimits, core.QueueOrder, core.QueueState, core.QueueTotals, core.RateLimit, core.ReturnWhen, core.ScheduleCatchUp, core.ScheduleFiring, core.ScheduleInfo, core.ScheduleOptions,
  core.ScheduleSpec, core.ScheduleTemplate, core.SemaphoreOptions,
  core.ShutdownOptions, core.Task<unknown>, core.TaskDefinition<unknown, unknown>,
  core.TaskDetails, core.TaskGroupOptions, core.TaskRef<unknown>, core.TaskRefState,
  core.TaskSource, core.TaskState, core.TaskSummary, core.UrlConnection, core.WaitForOptions,
  core.WaitManyOptions, core.WaitOptions, core.WorkerInfo, core.WorkerRegistryOptions,
];

describe('@asyncq/core: what users call', () => {
  it('exports exactly these values', () => {
    expectTypeOf<keyof typeof core>().toEqualTypeOf<(typeof CORE_VALUES)[number]>();
    expect(exportedNames(new URL('../../src/index.ts', import.meta.url)).values).toEqual([...CORE_VALUES]);
  });

  it('exports exactly these types', () => {
    expect(exportedNames(new URL('../../src/index.ts', import.meta.url)).types).toEqual([...CORE_TYPES]);
  });
});

/** What `@asyncq/core/internal` exports as values, sorted. */
const INTERNAL_VALUES = [
  'DEFAULT_PREFETCH', 'DEFAULT_WORKER_PREFETCH', 'MAX_PREFETCH', 'MAX_TIMER_MS', 'assertJsonSafe', 'checkInt', 'checkPrimitiveName', 'checkQueueName',
  'checkTimeout', 'connectRedis', 'describeError', 'describeQueues', 'discoverQueues',
  'isTransient', 'listPrimitives', 'listQueues', 'partitionTags', 'queueKeys', 'readQueueFigures',
  'redactUrl', 'requireNoEviction', 'safeMessage', 'shellQuote', 'syncKeys',
] as const;

/** What `@asyncq/core/internal` exports as types only, sorted. */
const INTERNAL_TYPES = [
  'ErrorFacts', 'FoundQueue', 'HolderInfo', 'PrimitiveInfo', 'QueueFigures', 'QueueFiguresRead',
  'QueueKeys', 'RedisClient', 'SyncKeys', 'SyncKind',
] as const;

/** Each type export, referenced: one removed or renamed fails the typecheck. */
export type InternalTypes = [
  internal.ErrorFacts, internal.FoundQueue, internal.HolderInfo, internal.PrimitiveInfo,
  internal.QueueFigures, internal.QueueFiguresRead, internal.QueueKeys, internal.RedisClient,
  internal.SyncKeys, internal.SyncKind,
];

describe('@asyncq/core/internal: plumbing for the sibling packages', () => {
  it('exports exactly these values', () => {
    expectTypeOf<keyof typeof internal>().toEqualTypeOf<(typeof INTERNAL_VALUES)[number]>();
    expect(exportedNames(new URL('../../src/internal.ts', import.meta.url)).values).toEqual([...INTERNAL_VALUES]);
  });

  it('exports exactly these types', () => {
    expect(exportedNames(new URL('../../src/internal.ts', import.meta.url)).types).toEqual([...INTERNAL_TYPES]);
  });
});

/** What `@asyncq/core/testing` exports: a throwaway redis-server and free ports, for tests and demos. */
const TESTING_VALUES = ['freePort', 'freePorts', 'startEmbeddedRedis'] as const;
const TESTING_TYPES = ['EmbeddedRedis', 'EmbeddedRedisOptions'] as const;

/** Each type export, referenced: one removed or renamed fails the typecheck. */
export type TestingTypes = [testing.EmbeddedRedis, testing.EmbeddedRedisOptions];

describe('@asyncq/core/testing: for tests and demos', () => {
  it('exports exactly these values and types', () => {
    expectTypeOf<keyof typeof testing>().toEqualTypeOf<(typeof TESTING_VALUES)[number]>();
    expect(exportedNames(new URL('../../src/testing.ts', import.meta.url))).toEqual({ values: [...TESTING_VALUES], types: [...TESTING_TYPES] });
  });
});
