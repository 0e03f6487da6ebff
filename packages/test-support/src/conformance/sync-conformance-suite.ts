// The behaviour cases of CPython's Lib/test/test_asyncio/test_locks.py (Lock, Event, Condition,
// Semaphore, BoundedSemaphore, Barrier), ported to asyncq's primitives across processes. Handles
// of the same name stand for processes; where asyncio shares one object between coroutines, so do
// these tests (one handle shared by callers behaves as one asyncio object). repr and event-loop
// internals are left out. asyncio's `await asyncio.sleep(0)` ("let the others run") becomes waiting
// until Redis shows the state the case needs (a waiter queued), so no case depends on timing.
// Where an abort races a hand-off, Redis's order decides (see grant-waits.ts), and the cases
// assert the invariant both outcomes keep: never two holders, nothing lost.
// The primitives' waits hop through Redis several times: a longer default bound than the shared one.
import { barrierConformance } from './sync-barrier.js';
import { conditionConformance } from './sync-condition.js';
import { syncKit, type SyncBackend } from './sync-kit.js';
import { lockAndEventConformance } from './sync-lock-event.js';
import { semaphoreConformance } from './sync-semaphore.js';

export type { SyncBackend } from './sync-kit.js';

/** CPython's test_locks cases over one backend of asyncq's primitives (one Redis, a Cluster). */
export function syncConformanceSuite(backend: SyncBackend): void {
  const kit = syncKit(backend);
  lockAndEventConformance(backend, kit);
  conditionConformance(backend, kit);
  semaphoreConformance(backend, kit);
  barrierConformance(backend, kit);
}
