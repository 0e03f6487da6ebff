/**
 * `@asyncq/core/internal`: plumbing the sibling packages (`@asyncq/producer`, `@asyncq/worker`,
 * `@asyncq/cli`), the benchmarks and the tests share with the core. Not for applications: nothing
 * here is promised to stay between versions. Lint lets the siblings import this entry point and no
 * other deep path (see ARCHITECTURE.md, "House rules").
 *
 * @example
 * ```ts
 * import { connectRedis, describeQueues } from '@asyncq/core/internal';
 *
 * const client = await connectRedis('redis://127.0.0.1:6379');
 * console.log(await describeQueues(client, 'bull', ['emails']));
 * client.disconnect();
 * ```
 *
 * @packageDocumentation
 */
// Checks of user input, shared so every package words a bad value the same way.
export { checkInt, checkTimeout, checkQueueName, MAX_TIMER_MS } from './options.js';
export { DEFAULT_PREFETCH, DEFAULT_WORKER_PREFETCH, MAX_PREFETCH } from './redis/queue-config.js';
export { checkPrimitiveName } from './sync/sync-options.js';
export { assertJsonSafe, describeError, safeMessage, type ErrorFacts } from './payload.js';
export { shellQuote } from './shell-quote.js';
// Connections, for the CLI's and the exporter's one-off reads.
export { connectRedis, redactUrl, isTransient, type RedisClient } from './redis/connection.js';
export { requireNoEviction } from './redis/memory-policy.js';
// Keys and the reads across many queues or primitives that the CLI, the dashboard and tests make.
export { queueKeys, partitionTags, type QueueKeys } from './redis/queue-keys.js';
export { syncKeys, type SyncKeys, type SyncKind } from './redis/sync-keys.js';
export { listQueues, discoverQueues, describeQueues, type FoundQueue } from './redis/list-queues.js';
export { readQueueFigures, type QueueFigures, type QueueFiguresRead } from './redis/queue-figures.js';
export { listPrimitives, type PrimitiveInfo, type HolderInfo } from './sync/primitive-listing.js';
