/**
 * Test and demo tools of `@asyncq/core`, kept off the main entry point: a throwaway
 * `redis-server` and free loopback ports.
 *
 * @example
 * ```ts
 * import { startEmbeddedRedis } from '@asyncq/core/testing';
 * const redis = await startEmbeddedRedis();
 * // ... new Queue('jobs', { connection: redis.url }) ...
 * await redis.stop();
 * ```
 */
export { startEmbeddedRedis, type EmbeddedRedis, type EmbeddedRedisOptions } from './testing/embedded-redis.js';
export { freePort, freePorts } from './testing/free-port.js';
