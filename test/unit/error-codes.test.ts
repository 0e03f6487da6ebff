import { describe, expect, it } from 'vitest';
import * as core from '@asyncq/core';
import {
  AsyncqError,
  BrokenBarrier,
  ConfigError,
  LeaseLost,
  LockNotHeld,
  NoRedisServer,
  PayloadError,
  PrimitiveClosed,
  QueueClosed,
  QueueCorrupt,
  QueueDataLost,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  RedisError,
  RedisMisconfigured,
  RedisOutOfMemory,
  RedisRefused,
  RedisUnreachable,
  SemaphoreOverReleased,
  TaskCancelled,
  TaskDoneError,
  TaskFailed,
  TaskNotFound,
  WaitAborted,
  type AsyncqErrorCode,
} from '@asyncq/core';
import { startEmbeddedRedis } from '@asyncq/core/testing';
import * as worker from '@asyncq/worker';
import { HandlerCrashed, silentLogger, TaskTimeout, WorkerStopping } from '@asyncq/worker';
import { CliError } from '../../packages/cli/src/cli-error.js';
import { RedisHealth } from '../../packages/worker/src/redis-health.js';

type ErrorClass = abstract new (...args: never[]) => AsyncqError;

/**
 * Every code with its class and one instance of it. A Record over the union: a code added to
 * AsyncqErrorCode without a class here fails the typecheck, and one listed twice does not compile.
 */
const BY_CODE: { [C in AsyncqErrorCode]: [ErrorClass, () => AsyncqError] } = {
  QUEUE_EMPTY: [QueueEmpty, () => new QueueEmpty('q')],
  QUEUE_FULL: [QueueFull, () => new QueueFull('q', 1)],
  QUEUE_SHUT_DOWN: [QueueShutDown, () => new QueueShutDown('q')],
  TASK_DONE: [TaskDoneError, () => new TaskDoneError('too many')],
  TIMEOUT: [WaitAborted, () => new WaitAborted('get()', 'timeout')],
  ABORTED: [WaitAborted, () => new WaitAborted('get()', 'signal')],
  QUEUE_CLOSED: [QueueClosed, () => new QueueClosed('q')],
  LEASE_LOST: [LeaseLost, () => new LeaseLost('q', '1')],
  BAD_CONFIG: [ConfigError, () => new ConfigError('bad')],
  BAD_PAYLOAD: [PayloadError, () => new PayloadError('bad')],
  REDIS_UNREACHABLE: [RedisUnreachable, () => new RedisUnreachable('127.0.0.1:1', 'ECONNREFUSED')],
  REDIS_REFUSED: [RedisRefused, () => new RedisRefused('WRONGPASS')],
  REDIS_OOM: [RedisOutOfMemory, () => new RedisOutOfMemory('127.0.0.1:1')],
  REDIS_MISCONFIGURED: [RedisMisconfigured, () => new RedisMisconfigured('allkeys-lru')],
  REDIS_ERROR: [RedisError, () => new RedisError('q', new Error('ERR something'))],
  NO_REDIS_SERVER: [NoRedisServer, () => new NoRedisServer('redis-server')],
  QUEUE_DATA_LOST: [QueueDataLost, () => new QueueDataLost('q', { unfinished: 1 })],
  QUEUE_CORRUPT: [QueueCorrupt, () => new QueueCorrupt('q')],
  TASK_FAILED: [TaskFailed, () => new TaskFailed('1', 'boom')],
  TASK_CANCELLED: [TaskCancelled, () => new TaskCancelled('1')],
  TASK_NOT_FOUND: [TaskNotFound, () => new TaskNotFound('q', '1')],
  LOCK_NOT_HELD: [LockNotHeld, () => new LockNotHeld('not held')],
  SEMAPHORE_OVER_RELEASED: [SemaphoreOverReleased, () => new SemaphoreOverReleased('s', 1)],
  BROKEN_BARRIER: [BrokenBarrier, () => new BrokenBarrier('b', 'broken')],
  PRIMITIVE_CLOSED: [PrimitiveClosed, () => new PrimitiveClosed('lock', 'l')],
  TASK_TIMEOUT: [TaskTimeout, () => new TaskTimeout(10)],
  WORKER_STOPPING: [WorkerStopping, () => new WorkerStopping()],
  HANDLER_CRASHED: [HandlerCrashed, () => new HandlerCrashed(new Error('late'))],
  CLI_USAGE: [CliError, () => new CliError('bad flag')],
};

describe('error codes: a closed set, one class per code', () => {
  it.each(Object.entries(BY_CODE))('%s is thrown by its own class, and instanceof works', (code, [cls, make]) => {
    const e = make();
    expect(e).toBeInstanceOf(cls);
    expect(e).toBeInstanceOf(AsyncqError);
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe(code);
    expect(e.name).toBe(cls.name);
  });

  it('a class carries one code (WaitAborted two: TIMEOUT or ABORTED), and no two classes share one', () => {
    const codesOf = new Map<ErrorClass, string[]>();
    for (const [code, [cls]] of Object.entries(BY_CODE)) codesOf.set(cls, [...(codesOf.get(cls) ?? []), code]);
    const shared = [...codesOf].filter(([, codes]) => codes.length > 1).map(([cls, codes]) => `${cls.name}: ${codes.join(', ')}`);
    expect(shared).toEqual(['WaitAborted: TIMEOUT, ABORTED']);
  });

  it('every error class the packages export has its code listed', () => {
    const listed = new Set(Object.values(BY_CODE).map(([cls]) => cls));
    const exported = ([...Object.values(core), ...Object.values(worker)] as unknown[]).filter(
      (v): v is ErrorClass => typeof v === 'function' && v.prototype instanceof AsyncqError,
    );
    expect(exported.filter((cls) => !listed.has(cls)).map((cls) => cls.name)).toEqual([]);
  });

  it('startEmbeddedRedis without a redis-server binary throws NoRedisServer', async () => {
    const e = await startEmbeddedRedis({ binary: 'asyncq-no-such-redis-server' }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(NoRedisServer);
    expect((e as NoRedisServer).message).toMatch(/asyncq-no-such-redis-server is not installed: install Redis/);
  });

  it("a worker that loses Redis reports RedisUnreachable, with the message it always had", () => {
    const seen: Error[] = [];
    new RedisHealth(silentLogger, (e) => seen.push(e)).lost('a heartbeat got no answer for 5000 ms');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(RedisUnreachable);
    expect(seen[0]!.message).toBe('Redis unreachable: a heartbeat got no answer for 5000 ms');
  });
});
