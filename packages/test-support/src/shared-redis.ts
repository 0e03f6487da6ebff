// The one Redis every integration test shares (found by ./global-setup.ts), and the bookkeeping
// that fails a test which leaks a connection and keeps a failed test's keys for inspection.
import { Redis } from 'ioredis';
import { afterAll, afterEach, inject, onTestFailed } from 'vitest';
import { queueKeys } from '@asyncq/core/internal';
import { eventually } from './timing.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** The Redis URL the global setup found. */
export function redisUrl(): string {
  return inject('redisUrl');
}

interface Closable {
  close(): Promise<void>;
}

const opened: Closable[] = [];
const names = new Set<string>();
let failed = false;
let admin: Redis | undefined;

/** An admin client for assertions on Redis itself (connection lists, keys). */
export function adminClient(): Redis {
  admin ??= new Redis(redisUrl(), { maxRetriesPerRequest: 2 });
  return admin;
}

/** Registers something to close after the test, and the queue names whose connections must be gone then. */
export function track<C extends Closable>(c: C, ...queueNames: string[]): C {
  opened.push(c);
  for (const n of queueNames) names.add(n);
  if (opened.length === 1) onTestFailed(() => void (failed = true));
  return c;
}

/** Connections still open for queue `name` (asyncq names every connection `asyncq:<queue>`). */
export async function connectionsOf(name: string): Promise<number> {
  const list = (await adminClient().client('LIST')) as string;
  return list.split('\n').filter((l) => l.includes(` name=asyncq:${name} `)).length;
}

afterEach(async () => {
  const closing = opened.splice(0);
  await Promise.all(closing.map((c) => c.close()));
  const queues = [...names];
  names.clear();
  // A test fails if it leaked a connection: every handle it opened must have closed all of its own.
  for (const n of queues) await eventually(async () => expectNoConnections(n, await connectionsOf(n)), 3000);
  // Keys are kept for inspection when the test failed.
  if (!failed && admin) {
    for (const n of queues) {
      const keys = await admin.keys(`${queueKeys('asyncq', n).wait.replace(/wait$/, '')}*`);
      if (keys.length > 0) await admin.del(...keys);
    }
  }
  failed = false;
});

function expectNoConnections(name: string, n: number): void {
  if (n !== 0) throw new Error(`queue ${name} leaked ${n} Redis connection(s) after its handles were closed`);
}

afterAll(async () => {
  await admin?.quit();
  admin = undefined;
});
