import { Queue } from '@asyncq/core';
import { redisUrl, track, uniqueName } from '@asyncq/test-support';
import { conformanceSuite } from '@asyncq/test-support/conformance';

// The Redis backend: every handle opened on the same name is the same queue.
conformanceSuite({
  name: 'Queue (Redis)',
  open<T>(opts = {}) {
    const name = uniqueName();
    const make = (): Queue<T> => track(new Queue<T>(name, { connection: redisUrl(), ...opts }), name);
    return { q: make(), peer: make };
  },
  construct: (opts) => new Queue((opts.name as string) ?? 'ok', { connection: redisUrl(), ...opts }),
});
