import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { redisUrl, track } from '@asyncq/test-support';

const run = promisify(execFile);

it('the README’s asyncio primitives example caps API calls with a Semaphore shared by the handlers', async () => {
  track({ close: async () => {} }, 'prices', 'sem:partner-api');
  const { stdout } = await run('node', [new URL('../dist/partner-api.js', import.meta.url).pathname], {
    env: { ...process.env, REDIS_URL: redisUrl() },
    timeout: 60_000,
  });
  const m = /^30 prices looked up by 16 handlers, at most (\d+) API calls at once$/m.exec(stdout);
  expect(m, stdout).not.toBeNull();
  expect(Number(m![1])).toBeGreaterThanOrEqual(1);
  expect(Number(m![1])).toBeLessThanOrEqual(3);
});
