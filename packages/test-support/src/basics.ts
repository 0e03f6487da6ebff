/**
 * The parts of `@asyncq/test-support` that register no vitest hooks, for code that runs outside a
 * test file (a global setup, a topology started before the tests) as well as in one.
 */
export { freePort, freePorts, startEmbeddedRedis, type EmbeddedRedis, type EmbeddedRedisOptions } from '@asyncq/core/testing';
export { sleep, eventually, settledWithin } from './timing.js';
export { uniqueName } from './names.js';
export { HANDLER_FIXTURES, HANDLERS } from './fixtures.js';
export { MARKER, leaks, prng, malformedUrls } from './malformed-urls.js';
export { hasOpenssl, makeCertificates } from './tls.js';
export { startRedisCluster, RedisCluster, type RedisClusterOptions } from './cluster/redis-cluster.js';
export { startSentinelGroup, SentinelGroup, type SentinelGroupOptions } from './cluster/sentinel-group.js';
export {
  checkRedisBinaries,
  HOST,
  nodeCommand,
  nodeInfo,
  parseClusterNodes,
  parseInfo,
  withNode,
  type ClusterAddresses,
  type MasterInfo,
  type NodeAddress,
  type Promotion,
} from './cluster/nodes.js';
export { exportedNames } from './exported-names.js';
