import { expect, onTestFailed } from 'vitest';
import { Redis } from 'ioredis';
import { Queue, WorkerRegistry } from '@asyncq/core';
import { redisUrl, track } from '@asyncq/test-support';

/** The worker tests' handler module: sleep, noop, crash (exit 3), fail, unrecoverable. */
export { HANDLERS } from '@asyncq/test-support';

/** A queue handle on the test Redis, closed after the test. */
export function queue(name: string): Queue {
  return track(new Queue(name, { connection: redisUrl() }), name);
}

const registries = new Map<string, WorkerRegistry>();

/** The worker registry of queue `name`, one per test and queue, closed after the test. */
export function registry(name: string): WorkerRegistry {
  let r = registries.get(name);
  if (!r) {
    registries.set(name, (r = track(new WorkerRegistry(name, { connection: redisUrl() }), name)));
    r.close = ((close) => async () => {
      registries.delete(name);
      await close();
    })(r.close.bind(r));
  }
  return r;
}

/** One line on stderr, no stack trace. */
export function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

/** A GET on 127.0.0.1:`port`, with its status, body and how long it took; fails after `ms`. */
export async function get(port: number | string, path: string, ms = 15_000): Promise<{ status: number; body: string; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(ms) });
  return { status: res.status, body: await res.text(), ms: Date.now() - t0 };
}

/** The value of the series `series` (name and labels, exactly as exported) in a Prometheus text, or undefined. */
export function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Deletes every key under `prefix` on the test Redis. */
export async function dropPrefix(prefix: string): Promise<void> {
  const r = new Redis(redisUrl(), { maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** {@link dropPrefix} to call after the test, which does nothing if the test failed (its keys are kept for inspection). */
export function dropPrefixAfter(prefix: string): () => Promise<void> {
  let failed = false;
  onTestFailed(() => void (failed = true));
  return async () => {
    if (!failed) await dropPrefix(prefix);
  };
}
