import { describe } from 'vitest';
import { LocalQueue, Queue } from '@asyncq/core';
import { redisUrl, track, uniqueName } from '../../../test/helpers.js';
import { conformanceSuite, type Backend, type OpenOptions } from './conformance-suite.js';

const backends: Backend[] = [
  {
    name: 'LocalQueue',
    open<T>(opts: OpenOptions = {}) {
      const q = track(new LocalQueue<T>(opts));
      return { q, peer: () => q };
    },
  },
  {
    name: 'Queue (Redis)',
    open<T>(opts: OpenOptions = {}) {
      const name = uniqueName();
      const make = (): Queue<T> => track(new Queue<T>(name, { connection: redisUrl(), ...opts }), name);
      return { q: make(), peer: make };
    },
  },
];

describe.each(backends)('$name conformance', conformanceSuite);
