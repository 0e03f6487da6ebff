// The tasks-as-futures conformance suite (issue 20) with a worker on a LocalQueue: the same cases
// as on Redis, in one process with no Redis at all.
import { localWorker } from './local-worker.js';
import { groupsConformance, tasksConformance, waitsConformance, type FuturesBackend } from '@asyncq/test-support/conformance';

const backend: FuturesBackend = {
  name: 'LocalQueue',
  start: async (handlers, concurrency) => localWorker(handlers, { concurrency }).q,
};

tasksConformance(backend);
waitsConformance(backend);
groupsConformance(backend);
