// The tasks-as-futures conformance suite (issue 20) on a Redis Cluster: once on an unpartitioned
// queue, once on a queue of 3 partitions spread over the masters. The tasks run on a Worker with
// its own Cluster client; the test waits on them through another, as two processes would.
import { Worker } from '@asyncq/worker';
import { groupsConformance, tasksConformance, waitsConformance, type FuturesBackend } from '@asyncq/test-support/conformance';
import { uniqueName } from '@asyncq/test-support';
import { newQueue, openCluster, openQueue, track } from './cluster-helpers.js';

function onCluster(partitions?: number): FuturesBackend {
  return {
    name: partitions ? `Queue (Redis Cluster, ${partitions} partitions)` : 'Queue (Redis Cluster)',
    async start(handlers, concurrency) {
      const name = uniqueName('futures');
      const q = openQueue<unknown>(name, { connection: openCluster(), partitions });
      const own = newQueue<unknown>(name, { connection: openCluster(), partitions });
      const worker = new Worker(name, handlers, { queue: own, concurrency, handleSignals: false, workerRegistry: false });
      track({ close: () => worker.close({ graceMs: 0 }) });
      void worker.run();
      return q;
    },
  };
}

for (const backend of [onCluster(), onCluster(3)]) {
  tasksConformance(backend);
  waitsConformance(backend);
  groupsConformance(backend);
}
