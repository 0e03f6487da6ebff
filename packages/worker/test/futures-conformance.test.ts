// The tasks-as-futures conformance suite (issue 20) on one Redis: the tasks run on a Worker with
// its own connection, and the test waits on them through another handle, as two processes would.
import { Queue } from '@asyncq/core';
import { Worker } from '@asyncq/worker';
import { redisUrl, track, uniqueName } from '@asyncq/test-support';
import { groupsConformance, tasksConformance, waitsConformance, type FuturesBackend } from '@asyncq/test-support/conformance';

const backend: FuturesBackend = {
  name: 'Queue (one Redis)',
  async start(handlers, concurrency) {
    const name = uniqueName('futures');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const worker = new Worker(name, handlers, { connection: redisUrl(), concurrency, handleSignals: false });
    track({ close: () => worker.close({ graceMs: 0 }) }, name);
    void worker.run();
    return q;
  },
};

tasksConformance(backend);
waitsConformance(backend);
groupsConformance(backend);
