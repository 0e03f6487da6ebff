import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { startEmbeddedRedis, type EmbeddedRedis } from '@asyncq/core/testing';
import { runCli } from './cli-process.js';

// A Redis that may evict keys loses tasks: every asyncq process warns once at start, naming the
// policy and the fix, and --strict-redis refuses it in one line.
describe('a Redis whose maxmemory-policy may evict keys', () => {
  let lru: EmbeddedRedis;
  const name = `policy-${process.pid}`;

  beforeAll(async () => {
    lru = await startEmbeddedRedis({ args: ['--maxmemory', '100mb', '--maxmemory-policy', 'allkeys-lru'] });
    const q = new Queue(name, { connection: lru.url });
    await q.put(1).catch(() => undefined); // the library warns too (process.emitWarning): not this test's concern
    await q.close();
  });
  afterAll(async () => {
    await lru?.stop();
  });

  it('gets one warning line from a command, naming the policy and the fix', async () => {
    const r = await runCli(['stats', name, '--redis-url', lru.url]);
    expect(r.code).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => /maxmemory-policy/.test(l));
    expect(warnings).toEqual([expect.stringMatching(/^asyncq: warning: Redis at 127\.0\.0\.1:\d+ has maxmemory-policy allkeys-lru: .*noeviction/)]);
    expect(r.stderr).not.toMatch(/\(node:\d+\)|--trace-warnings/);
  });

  it('is refused in one line with --strict-redis (and ASYNCQ_STRICT_REDIS), nothing else printed', async () => {
    for (const run of [
      () => runCli(['stats', name, '--redis-url', lru.url, '--strict-redis']),
      () => runCli(['stats', name, '--redis-url', lru.url], { env: { ASYNCQ_STRICT_REDIS: 'true' } }),
    ]) {
      const r = await run();
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^asyncq: Redis at .* has maxmemory-policy allkeys-lru: .*--strict-redis/)]);
    }
  });

  it('a worker started with --strict-redis exits at once with that line', async () => {
    const handlers = new URL('./fixtures/admin-handlers.mjs', import.meta.url).pathname;
    const r = await runCli(['worker', handlers, '-q', name, '--redis-url', lru.url, '--strict-redis'], { timeout: 20_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/maxmemory-policy allkeys-lru/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
