import { execFile } from 'node:child_process';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';

// Runs `pnpm bench --quick` as a real subprocess and checks the shape of what it prints, never its
// figures: tests must not depend on how fast this machine is.
const BENCH = new URL('../dist/bench.js', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function bench(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BENCH, ...args],
      { env: { ...process.env, ...env }, timeout: 150_000, killSignal: 'SIGKILL', maxBuffer: 10 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The rows of the Markdown table under `## heading`, as arrays of cells. */
function tableRows(stdout: string, heading: string): string[][] {
  const section = (stdout.split(`## ${heading}\n`)[1] ?? '').split('\n## ')[0]!;
  return section
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .slice(2) // header and separator
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
}

const number = /\d/;

describe('pnpm bench --quick', () => {
  it('prints a summary row per scenario, with figures for all three engines, and the targets', async () => {
    const redisUrl = inject('redisUrl');
    const run = await bench(['--quick'], { BENCH_REDIS_URL: redisUrl });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);

    const rows = new Map(tableRows(run.stdout, 'Summary').map((cells) => [cells[0]!, cells.slice(1)]));
    const row = (prefix: string): string[] => {
      const found = [...rows].find(([label]) => label.startsWith(prefix));
      expect(found, `a summary row starting "${prefix}"`).toBeDefined();
      return found![1];
    };
    for (const prefix of ['worker c=1 ', 'worker c=16 ', 'worker c=64 ', 'one handle, 16 get/taskDone loops', 'put(), 100 in flight', 'enqueueMany, batches of 1,000']) {
      const [asyncq, bullmq, bee, vsBull, vsBee] = row(prefix);
      // A worker row gives each engine's CPU shares beside its rate (issue 24: the worker process's and Redis's).
      const figure = prefix.startsWith('worker c=') ? /^[\d,]+ \(worker \d+% · Redis \d+%\)$/ : /^[\d,]+$/;
      for (const cell of [asyncq, bullmq, bee]) expect(cell, prefix).toMatch(figure);
      for (const ratio of [vsBull, vsBee]) expect(ratio, prefix).toMatch(/^\d+\.\d\dx$/);
    }
    expect(row('worker peak RSS at c=64').slice(0, 3).every((c) => /^\d+ MB$/.test(c))).toBe(true);
    expect(row('asyncq worker c=16, joiner waiting')[0]).toMatch(/^[\d,]+ \/ [\d,]+, cost -?\d+\.\d%$/);
    expect(row('join wake-up')[0]).toMatch(/^\d+\.\d\d \/ \d+\.\d\d$/);
    expect(row('cancel latency')[0]).toMatch(/^\d+\.\d\d \/ \d+\.\d\d$/);
    const [gatherAsyncq, gatherBull, gatherBee, gatherRatio] = row('wait on 500 results at once (results/s)');
    for (const figure of [gatherAsyncq, gatherBull]) expect(figure).toMatch(/^[\d,]+$/);
    expect([gatherBee, gatherRatio]).toEqual(['n/a', expect.stringMatching(/^\d+\.\d\dx$/)]);

    const costs = tableRows(run.stdout, 'Redis per task: commands / script calls / CPU µs');
    // One row a scenario, one a variant for the joiner's (with and without) and the limits' (with,
    // without, and 100 groups).
    expect(costs.length).toBe(12);
    for (const cells of costs) expect(cells[1], cells[0]).toMatch(number);

    const targets = tableRows(run.stdout, 'Targets');
    expect(targets.length).toBe(14);
    for (const [target, figure, met] of targets) {
      expect(figure, target).toMatch(number);
      expect(met, target).toMatch(/^(met|not met)$/);
    }

    // The locks scenario: asyncq and redis-semaphore side by side, and its own target.
    const locks = tableRows(run.stdout, 'locks').filter((cells) => cells[0] !== 'target' && cells[0] !== '---');
    expect(locks.map((cells) => cells[0])).toEqual(['asyncq Lock', 'redis-semaphore Mutex', 'asyncq Semaphore', 'redis-semaphore Semaphore', 'asyncq Lock hand-off p99 <= 5 ms', 'asyncq Semaphore hand-off p99 <= 5 ms']);
    for (const cells of locks.slice(0, 4)) for (const figure of cells.slice(1, 6)) expect(figure, cells[0]).toMatch(number);
    for (const [target, , met] of locks.slice(4)) expect(met, target).toMatch(/^(met|not met)$/);

    // Every run cleared its keys off the shared server.
    const redis = new Redis(redisUrl);
    try {
      expect(await redis.keys('*bench-*')).toEqual([]);
    } finally {
      await redis.quit();
    }
  }, 180_000);

  it('refuses an unknown scenario in one line', async () => {
    const run = await bench(['--only', 'nope']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^unknown scenario nope: pick from worker-c1, /);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses a BENCH_PREFETCH that is not a whole number in one line', async () => {
    const run = await bench(['--only', 'worker-c1'], { BENCH_PREFETCH: '-1' });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe('BENCH_PREFETCH must be a whole number of at least 0, got "-1"');
  });
});
