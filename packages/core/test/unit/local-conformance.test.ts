import { afterEach } from 'vitest';
import { LocalQueue, type AsyncQueue } from '@asyncq/core';
import { conformanceSuite } from '@asyncq/test-support/conformance';

// The in-process backend, with no Redis at all: the same suite as the Redis queue's.
const opened: AsyncQueue<unknown>[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((q) => q.close()));
});

conformanceSuite({
  name: 'LocalQueue',
  open<T>(opts = {}) {
    const q = new LocalQueue<T>(opts);
    opened.push(q as AsyncQueue<unknown>);
    return { q, peer: () => q };
  },
  construct: (opts) => new LocalQueue(opts),
});
