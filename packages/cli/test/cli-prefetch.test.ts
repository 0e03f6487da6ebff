// `--prefetch` on `worker` and `fleet` (issue 24): the Worker option from the command line, so a
// fleet can trade a killed worker's delay for fewer round trips; checked like every other flag.
import { describe, expect, it } from 'vitest';
import { eventually, uniqueName } from '@asyncq/test-support';
import { runCli, startCli } from './cli-process.js';
import { HANDLERS, oneLine, queue } from './cli-test-helpers.js';

/** Puts `n` short tasks, and samples what the queue's workers hold while they run them: the most seen at once. */
async function mostHeld(name: string, n: number, start: () => void): Promise<number> {
  const q = queue(name);
  for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => q.put({ ms: 20 }, { name: 'sleep' })));
  start();
  let most = 0;
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const c = await q.counts();
    most = Math.max(most, c.active);
    if (c.unfinished === 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  expect((await q.counts()).unfinished).toBe(0);
  return most;
}

/**
 * A worker fetches ahead with its acknowledgements, once tasks flow (a task that never finishes
 * brings none): tasks of 20 ms, one slot, so what it holds beyond its one running task was fetched ahead.
 */
describe('--prefetch', () => {
  it('a worker holds at most its running tasks with --prefetch 0, and fetches ahead with more', { timeout: 150_000 }, async () => {
    const plain = uniqueName('prefetch-0');
    expect(await mostHeld(plain, 150, () => startCli(['worker', HANDLERS, '-q', plain, '-c', '1', '--prefetch', '0']))).toBe(1);
    const ahead = uniqueName('prefetch-8');
    const most = await mostHeld(ahead, 150, () => startCli(['worker', HANDLERS, '-q', ahead, '-c', '1', '--prefetch', '8']));
    expect(most).toBeGreaterThan(2);
    expect(most).toBeLessThanOrEqual(9);
  });

  it('a fleet passes --prefetch to each of its workers', { timeout: 150_000 }, async () => {
    const name = uniqueName('prefetch-fleet');
    const most = await mostHeld(name, 150, () => startCli(['fleet', HANDLERS, '-q', name, '-w', '1', '-c', '1', '--prefetch', '8']));
    expect(most).toBeGreaterThan(2);
    expect(most).toBeLessThanOrEqual(9);
  });

  it('a value out of range is one line naming the flag, and nothing starts', async () => {
    for (const cmd of ['worker', 'fleet']) {
      const r = await runCli([cmd, HANDLERS, '-q', uniqueName('prefetch-bad'), '--prefetch', '-1']);
      expect(r.code, r.stderr).toBe(1);
      expect(oneLine(r.stderr)).toMatch(/--prefetch/);
    }
  });
});
