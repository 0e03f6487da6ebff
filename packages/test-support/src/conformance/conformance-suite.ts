import { describe } from 'vitest';
import { orderAndJoinConformance } from './queue-order-join.js';
import { payloadsAndNamesConformance } from './queue-payloads-names.js';
import { shutdownAndAbortConformance } from './queue-shutdown-aborts.js';
import type { Backend } from './queue-kit.js';

export type { Backend, OpenOptions } from './queue-kit.js';

/** asyncio.Queue's behaviour over one backend (LocalQueue, one Redis, a Cluster): tests branch on capabilities, never on the backend's name. */
export function conformanceSuite(backend: Backend): void {
  describe(`${backend.name} conformance`, () => {
    orderAndJoinConformance(backend);
    shutdownAndAbortConformance(backend);
    payloadsAndNamesConformance(backend);
  });
}
