// The conformance suite (@asyncq/test-support/conformance), once more on a Redis Cluster:
// an unpartitioned Queue whose connection is an ioredis Cluster instance, shared by the handles of
// one test as a user would share it.
import { Queue } from '@asyncq/core';
import { conformanceSuite, type Backend, type OpenOptions } from '@asyncq/test-support/conformance';
import { uniqueName } from '@asyncq/test-support';
import { openCluster, openQueue } from './cluster-helpers.js';

const backend: Backend = {
  name: 'Queue (Redis Cluster)',
  open<T>(opts: OpenOptions = {}) {
    const name = uniqueName();
    const cluster = openCluster();
    const make = (): Queue<T> => openQueue<T>(name, { connection: cluster, ...opts });
    return { q: make(), peer: make };
  },
  construct: (opts) => new Queue((opts.name as string) ?? 'ok', { connection: openCluster(), ...opts }),
};

conformanceSuite(backend);
