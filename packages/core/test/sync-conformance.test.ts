// The primitives' conformance suite (@asyncq/test-support/conformance) on one Redis.
import { adminClient, redisUrl, track } from '@asyncq/test-support';
import { syncConformanceSuite } from '@asyncq/test-support/conformance';

syncConformanceSuite({
  name: 'Redis',
  options: () => ({ connection: redisUrl() }),
  track: (c, tag) => track(c, tag),
  redis: () => adminClient(),
});
