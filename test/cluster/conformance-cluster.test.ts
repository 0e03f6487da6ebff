// The conformance suite (@asyncq/test-support/conformance), once more on a Redis Cluster:
// an unpartitioned Queue whose connection is an ioredis Cluster instance, shared by the handles of
// one test as a user would share it; and again where every bounded queue smaller than three tasks
// (the suite's maxsize 1 and 2) has three partitions, one per master: maxsize is then below the
// partition count, the partitions with no share admit nothing, and the bound stays exact. (The
// suite's other tests stay on one partition there: a partitioned queue has no order across its
// partitions, which the order tests check.)
import { Queue } from '@asyncq/core';
import { conformanceSuite, type Backend, type OpenOptions } from '@asyncq/test-support/conformance';
import { uniqueName } from '@asyncq/test-support';
import { openCluster, openQueue } from './cluster-helpers.js';

function clusterBackend(name: string, partitionsFor: (opts: OpenOptions) => number): Backend {
  return {
    name,
    open<T>(opts: OpenOptions = {}) {
      const queue = uniqueName();
      const cluster = openCluster();
      const partitions = partitionsFor(opts);
      const make = (): Queue<T> => openQueue<T>(queue, { connection: cluster, partitions, ...opts });
      return { q: make(), peer: make };
    },
    construct: (opts) => new Queue((opts.name as string) ?? 'ok', { connection: openCluster(), partitions: partitionsFor(opts as OpenOptions), ...opts }),
  };
}

conformanceSuite(clusterBackend('Queue (Redis Cluster)', () => 1));
conformanceSuite(clusterBackend('Queue (Redis Cluster, maxsize 1 and 2 over 3 partitions)', (o) => (typeof o.maxsize === 'number' && o.maxsize > 0 && o.maxsize < 3 ? 3 : 1)));
