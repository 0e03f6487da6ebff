/**
 * What asyncq's tests share, written once (a private package: nothing but tests imports it).
 * Importing it registers the hooks of the shared Redis (leaked connections fail a test), of child
 * processes and of {@link RedisServer}s (stopped after the file); `@asyncq/test-support/basics`
 * has the rest without hooks.
 *
 * @example
 * ```ts
 * import { eventually, redisUrl, track, uniqueName } from '@asyncq/test-support';
 * const name = uniqueName('jobs');
 * const q = track(new Queue(name, { connection: redisUrl() }), name);
 * await q.put(1);
 * await eventually(async () => expect(await q.qsize()).toBe(1));
 * ```
 */
export * from './basics.js';
export { redisUrl, adminClient, track, connectionsOf } from './shared-redis.js';
export { spawnChild, TestChild, type ChildEvent } from './child-process.js';
export { RedisServer, stopRedisServers, type RedisServerOptions } from './redis-server.js';
