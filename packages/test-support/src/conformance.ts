/**
 * The conformance suites, each run over every backend that claims the behaviour (LocalQueue, one
 * Redis, a Cluster): asyncio.Queue's, CPython's test_locks for the primitives, and the futures'
 * (tasks, waits, task groups). A separate entry point: the futures suites load @asyncq/worker.
 */
export { conformanceSuite, type Backend, type OpenOptions } from './conformance/conformance-suite.js';
export { syncConformanceSuite, type SyncBackend } from './conformance/sync-conformance-suite.js';
export type { FuturesBackend } from './conformance/futures-harness.js';
export { groupsConformance } from './conformance/futures-suite-groups.js';
export { tasksConformance } from './conformance/futures-suite-tasks.js';
export { waitsConformance } from './conformance/futures-suite-waits.js';
