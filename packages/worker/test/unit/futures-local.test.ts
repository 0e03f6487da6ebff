// The tasks-as-futures conformance suite (issue 20) with a worker on a LocalQueue: the same cases
// as on Redis, in one process with no Redis at all.
import { localWorker } from './local-worker.js';
import type { FuturesBackend } from '../futures-harness.js';
import { groupsConformance } from '../futures-suite-groups.js';
import { tasksConformance } from '../futures-suite-tasks.js';
import { waitsConformance } from '../futures-suite-waits.js';

const backend: FuturesBackend = {
  name: 'LocalQueue',
  start: async (handlers, concurrency) => localWorker(handlers, { concurrency }).q,
};

tasksConformance(backend);
waitsConformance(backend);
groupsConformance(backend);
