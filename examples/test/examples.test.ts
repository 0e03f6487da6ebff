import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { redisUrl, track } from '@asyncq/test-support';

const run = promisify(execFile);
const here = (p: string): string => new URL(p, import.meta.url).pathname;

describe('README and examples', () => {
  it('every code block the README quotes from a file is that file, which CI compiles', () => {
    const readme = readFileSync(here('../../README.md'), 'utf8');
    const quoted = [...readme.matchAll(/<!-- file: (\S+) -->\s*```ts\n([\s\S]*?)```/g)];
    expect(quoted.map((m) => m[1])).toEqual(
      expect.arrayContaining(['examples/src/quick-start.ts', 'examples/src/email-producer.ts', 'examples/src/email-worker.ts', 'examples/src/tasks-as-futures.ts', 'examples/src/limits.ts', 'examples/src/groups.ts', 'examples/src/schedules.ts']),
    );
    for (const [, path, block] of quoted) expect(block, path).toBe(readFileSync(here(`../../${path}`), 'utf8'));
  });

  it('the quick start runs against Redis', async () => {
    track({ close: async () => {} }, 'thumbnails');
    const { stdout } = await run('node', [here('../dist/quick-start.js')], { env: { ...process.env, REDIS_URL: redisUrl() }, timeout: 20_000 });
    expect(stdout).toContain('resizing https://example.com/cat.png');
  });

  it('the limits example runs against Redis: the limits hold and a RateLimited task comes back', async () => {
    track({ close: async () => {} }, 'partner-calls');
    const { stdout } = await run('node', [here('../dist/limits.js')], { env: { ...process.env, REDIS_URL: redisUrl() }, timeout: 30_000 });
    expect(stdout.split('\n').filter((l) => l !== '')).toEqual(['limits: {"concurrency":2,"rate":{"max":5,"per":"1s"}}', '10 calls, at most 2 at once, in more than a second', 'failed: 0']);
  });

  it('the groups example runs against Redis: small tenants are served between a big one\'s tasks, one per tenant at a time', async () => {
    track({ close: async () => {} }, 'reports');
    const { stdout } = await run('node', [here('../dist/groups.js')], { env: { ...process.env, REDIS_URL: redisUrl() }, timeout: 30_000 });
    expect(stdout.split('\n').filter((l) => l !== '')).toEqual(["the small tenants were done after at most 5 of big's 20 reports", 'at most 1 report of a tenant at once']);
  });

  it('the tasks-as-futures example runs against Redis, as its comments say', async () => {
    track({ close: async () => {} }, 'futures');
    const { stdout } = await run('node', [here('../dist/tasks-as-futures.js')], { env: { ...process.env, REDIS_URL: redisUrl() }, timeout: 30_000 });
    expect(stdout.split('\n').filter((l) => l !== '')).toEqual([
      'gather: [ 1, 4, 9 ]',
      'finished: 100',
      'finished: 200',
      'finished: 300',
      expect.stringMatching(/^waitFor: waitFor timed out -> task \S+ was cancelled by .*: waitFor timed out after 500 ms$|^waitFor: waitFor timed out -> task \S+ was cancelled: waitFor timed out after 500 ms$/),
      'state: cancelled',
      expect.stringMatching(/^taskGroup: task group failed: 1 error \(first: task \S+ failed: no disk left\)$/),
      'chord: 14',
    ]);
  });

  it('the schedules example runs against Redis: a worker fires the schedule, three runs and it ends', async () => {
    track({ close: async () => {} }, 'reports');
    const { stdout } = await run('node', [here('../dist/schedules.js')], { env: { ...process.env, REDIS_URL: redisUrl() }, timeout: 30_000 });
    expect(stdout.split('\n').filter((l) => l !== '')).toEqual([
      'ran pulse',
      'ran pulse',
      'ran pulse',
      expect.stringMatching(/^nightly: 0 runs, next \d{4}-\d\d-\d\dT0[12]:00:00.000Z$/),
      'pulse: 3 runs, next none',
    ]);
  });

  it('the email worker and producer from the README run as processes', async () => {
    track({ close: async () => {} }, 'emails');
    const env = { ...process.env, REDIS_URL: redisUrl() };
    const worker = spawn('node', [here('../dist/email-worker.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let workerErr = '';
    worker.stderr.on('data', (d: Buffer) => (workerErr += d.toString()));
    const exited = new Promise<number | null>((r) => worker.on('exit', r));
    try {
      const { stdout } = await run('node', [here('../dist/email-producer.js')], { env, timeout: 30_000 });
      expect(stdout).toMatch(/^sent msg-\S+$/m);
      expect(stdout).toContain('enqueued 3/3');
      const metrics = await (await fetch('http://127.0.0.1:9464/metrics')).text();
      expect(metrics).toMatch(/asyncq_tasks_completed_total\{queue="emails",task="send-email"\} 4/);
    } finally {
      worker.kill('SIGTERM');
    }
    expect(await exited, workerErr).toBe(0);
  });

  it('the core demo runs two consumer processes and a producer to its summary', async () => {
    const { stdout } = await run('node', [here('../dist/core-demo.js')], { env: { ...process.env, REDIS_URL: redisUrl() }, timeout: 60_000 });
    expect(stdout).toMatch(/consumer A did \d+ tasks/);
    expect(stdout).toMatch(/consumer B did \d+ tasks/);
    const summary = /2 consumers did (\d+) tasks .* never held more than (\d+) ready tasks \(maxsize 20\)/.exec(stdout);
    expect(summary, stdout).not.toBeNull();
    expect(Number(summary![1])).toBe(200);
    expect(Number(summary![2])).toBeLessThanOrEqual(20);
  });
});
