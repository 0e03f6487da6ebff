import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { checkInt, checkOrder, checkQueueName } from '../options.js';
import type { QueueOptions, QueueOrder } from '../types.js';
import { resolveConnection, type RedisTarget } from './connection.js';
import { partitionTags, queueKeys, type QueueKeys } from './queue-keys.js';

/** Tasks a consuming handle reserves ahead of its gets, at most, unless told otherwise: see QueueOptions.prefetch. */
export const DEFAULT_PREFETCH = 0;
/**
 * A Worker's prefetch unless told otherwise (WorkerOptions.prefetch, `--prefetch`): a worker is a
 * consumer loop by design, so it fetches ahead by default, where a Queue handle's gets stay exact.
 * Chosen by measurement (README, Benchmark): 64 lifts a worker at concurrency 1 about threefold where 16
 * left it at 0.8x BullMQ (a refill rarely came back before the stash ran dry), and the kill storm's
 * redelivery p99 stays under 10 s at it and at 4 times it. It is a ceiling: a worker fetches ahead
 * no more than its gets took in the last 50 ms, so one with slow tasks holds few.
 */
export const DEFAULT_WORKER_PREFETCH = 64;
/** The largest prefetch: tasks fetched ahead are held in memory and by the handle's lease. */
export const MAX_PREFETCH = 10_000;

/** A Redis queue's options, checked once at construction: every part reads its settings here. */
export interface QueueConfig {
  readonly name: string;
  readonly prefix: string;
  readonly order: QueueOrder;
  readonly maxsize: number;
  /** The keys of each partition (one for an unpartitioned queue). */
  readonly partitions: readonly QueueKeys[];
  readonly lease: number;
  readonly stalledInterval: number;
  /** Most tasks reserved ahead of gets (see QueueOptions.prefetch). */
  readonly prefetch: number;
  readonly maxStalls: number;
  readonly keepCompleted: number;
  readonly keepFailed: number;
  readonly keepLogs: number;
  readonly keepStacks: number;
  readonly maxPayloadBytes: number;
  readonly maxResultBytes: number;
  readonly maxErrorBytes: number;
  readonly connectTimeout: number;
  readonly commandTimeout: number;
  /** Refuse a Redis that may evict keys, instead of warning. */
  readonly strictRedis: boolean;
  readonly target: RedisTarget;
  /** This handle's id: the prefix of its lease ids, and what a worker registers as its `handle`. */
  readonly handleId: string;
}

/** Checks a queue's name and options, throwing a one-line {@link ConfigError} naming what is wrong. */
export function resolveQueueConfig(name: string, opts: QueueOptions): QueueConfig {
  if (opts === null || typeof opts !== 'object') throw new ConfigError(`queue options must be an object, got ${typeof opts}`);
  checkQueueName(name);
  const prefix = opts.prefix ?? 'asyncq';
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_.-]{1,50}$/.test(prefix)) {
    throw new ConfigError(`prefix must be 1-50 letters, digits, '_', '.' or '-', got ${JSON.stringify(prefix)}`);
  }
  const maxsize = checkInt('maxsize', opts.maxsize, 0);
  const partitions = checkInt('partitions', opts.partitions, 1, 1, 1024);
  const lease = checkInt('lease', opts.lease, 7000, 100);
  return {
    name,
    prefix,
    order: checkOrder(opts.order),
    maxsize,
    partitions: partitionTags(name, partitions).map((tag) => queueKeys(prefix, tag)),
    lease,
    stalledInterval: checkInt('stalledInterval', opts.stalledInterval, 2000, 50),
    prefetch: checkInt('prefetch', opts.prefetch, DEFAULT_PREFETCH, 0, MAX_PREFETCH),
    maxStalls: checkInt('maxStalls', opts.maxStalls, 5, 0),
    keepCompleted: checkInt('keepCompleted', opts.keepCompleted, 1000),
    keepFailed: checkInt('keepFailed', opts.keepFailed, 10_000),
    keepLogs: checkInt('keepLogs', opts.keepLogs, 1000, 1),
    keepStacks: checkInt('keepStacks', opts.keepStacks, 10, 0, 1000),
    maxPayloadBytes: checkInt('maxPayloadBytes', opts.maxPayloadBytes, 1024 * 1024, 1),
    maxResultBytes: checkInt('maxResultBytes', opts.maxResultBytes, 1024 * 1024, 1),
    maxErrorBytes: checkInt('maxErrorBytes', opts.maxErrorBytes, 16 * 1024, 256),
    connectTimeout: checkInt('connectTimeout', opts.connectTimeout, 5000, 1),
    commandTimeout: checkInt('commandTimeout', opts.commandTimeout, 20_000, 100),
    strictRedis: opts.strictRedis === true,
    target: resolveConnection(opts.connection),
    handleId: randomBytes(6).toString('hex'),
  };
}
