// The primitives' conformance suite (packages/core/test/sync-conformance-suite.ts) once more on a
// Redis Cluster of 3 masters: each primitive lives in one hash slot, its waiters wake through
// sharded pub/sub. The handles of one test share one ioredis Cluster instance, as a user would.
import type { Cluster } from 'ioredis';
import { afterEach } from 'vitest';
import { syncConformanceSuite } from '../../packages/core/test/sync-conformance-suite.js';
import { openCluster, track } from './cluster-helpers.js';

let cluster: Cluster | undefined;
const shared = (): Cluster => (cluster ??= openCluster());

afterEach(() => {
  cluster = undefined; // closed by the helpers' afterEach, after the handles
});

syncConformanceSuite({
  name: 'Redis Cluster',
  options: () => ({ connection: shared() }),
  track: (c, tag) => track(c, [tag]),
  redis: () => shared(),
});
