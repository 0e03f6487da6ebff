// The primitives' conformance suite (sync-conformance-suite.ts) on one Redis.
import { adminClient, redisUrl, track } from '@asyncq/test-support';
import { syncConformanceSuite } from './sync-conformance-suite.js';

syncConformanceSuite({
  name: 'Redis',
  options: () => ({ connection: redisUrl() }),
  track: (c, tag) => track(c, tag),
  redis: () => adminClient(),
});
