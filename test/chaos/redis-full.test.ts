import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { report, secs } from './harness/figures.js';
import { ledgerDir, readLedger, unfinishedKeys } from './harness/ledger.js';
import { linesOf, outputProblems } from './harness/output-hygiene.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { FIXTURES, runCli, startCli, type ChaosProcess } from './harness/processes.js';

// Scenario 5 (issue 17): a Redis at its `maxmemory` with `maxmemory-policy noeviction` (the policy
// asyncq requires) refuses every write that needs memory. Puts must then be refused with one
// asyncq error (code REDIS_OOM, class RedisOutOfMemory) saying what to do, and the CLI prints it as
// one line; but the consumes and acknowledgements that free memory must never be refused, so
// workers and fleets still start and drain the queue, `join` works (it writes nothing OOM can
// refuse), and read-only commands work.
const PAD = 'x'.repeat(1000);

async function started(p: ChaosProcess, name: string): Promise<string> {
  try {
    await p.waitFor(new RegExp(`runs ${name}|started|serves ${name}`), 20_000);
    return 'started';
  } catch {
    return p.exit ? `exited ${p.exit.code ?? p.exit.signal}` : 'silent';
  }
}

describe('a Redis full at maxmemory with noeviction', () => {
  it('refuses puts with one REDIS_OOM error, and still lets workers, fleets, join and read-only commands drain it', { timeout: 180_000 }, async () => {
    const redis = await RedisServer.start({ maxmemory: '16mb', maxmemoryPolicy: 'noeviction' });
    const dir = ledgerDir('full');
    const name = 'full';
    const env = { REDIS_URL: redis.url, CHAOS_LEDGER_DIR: dir };
    const q = new Queue(name, { connection: redis.url });

    // Fill it, 500 tasks of ~1 KB at a time, until Redis refuses (or, should puts never be refused,
    // until it holds three times its maxmemory).
    const stored: string[] = [];
    let refusal: { code?: string; name?: string; message?: string } | undefined;
    const usedMb = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(await redis.client().info('memory'))?.[1] ?? 0) / 2 ** 20;
    for (let b = 0; b < 100 && !refusal && (b % 10 !== 9 || (await usedMb()) < 3 * 16); b++) {
      const batch = Array.from({ length: 500 }, (_, i) => ({ item: { k: `f-${b * 500 + i}`, pad: PAD } }));
      try {
        await q.putMany(batch, { timeout: 20_000 });
        stored.push(...batch.map((x) => x.item.k));
      } catch (e) {
        refusal = e as typeof refusal;
      }
    }
    const used = await usedMb();
    // Single puts, as a user makes them, until one is refused (Redis is right at its limit: one may fit).
    let single: typeof refusal;
    for (let i = 0; i < 200 && !single; i++) {
      await q.put({ k: `one-more-${i}`, pad: PAD }).then(
        () => stored.push(`one-more-${i}`),
        (e: typeof refusal) => (single = e),
      );
    }
    let cliPut = await runCli(['put', name, JSON.stringify({ k: 'cli-0', pad: PAD })], { env });
    for (let i = 1; i < 10 && cliPut.code === 0; i++) {
      stored.push(`cli-${i - 1}`);
      cliPut = await runCli(['put', name, JSON.stringify({ k: `cli-${i}`, pad: PAD })], { env });
    }
    // Read-only commands while full.
    const stats = await runCli(['stats', name], { env });
    const inspect = await runCli(['inspect', name], { env });

    // Joiner first (it must wait, not fail), then a worker and a fleet, all while Redis is full.
    const joiner = startCli(['join', name], { env, label: 'join' });
    await sleep(1000);
    const joinerEarly = joiner.exit ? `exited ${joiner.exit.code}: ${linesOf(joiner.stderr).at(-1) ?? ''}` : 'waiting';
    const t0 = Date.now();
    const worker = startCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-c', '16'], { env, label: 'worker' });
    const fleet = startCli(['fleet', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-w', '1', '-c', '16'], { env, label: 'fleet' });
    const [workerStart, fleetStart] = await Promise.all([started(worker, name), started(fleet, name)]);
    const joined = await joiner.exitWithin(60_000);
    const view = readLedger(dir);
    const never = unfinishedKeys(view, stored);
    await q.close();

    const oneLine = (r: { stderr: string }): boolean => linesOf(r.stderr).length === 1;
    report('redis-full-noeviction', {
      maxmemory: '16mb',
      usedMemory: `${used.toFixed(1)}mb`,
      storedBeforeFull: stored.length,
      refusedCode: refusal?.code ?? refusal?.name ?? 'none',
      singlePutCode: single?.code ?? single?.name ?? 'accepted',
      cliPutExit: cliPut.code,
      cliPutLines: linesOf(cliPut.stderr).length,
      statsExit: stats.code,
      inspectExit: inspect.code,
      joinerWhileFull: joinerEarly,
      workerStart,
      fleetStart,
      ran: stored.length - never.length,
      neverRan: never.length,
      joinExit: joined ? joined.code : 'still waiting',
      drainTime: secs(joined ? joined.at - t0 : undefined),
    });
    expect.soft(used, 'puts never push Redis past its maxmemory (16 MB, a few % of slack)').toBeLessThan(16 * 1.1);
    expect(refusal, 'Redis filled up: a put was refused').toBeDefined();
    expect.soft(refusal?.code, `the refused putMany: ${refusal?.name}: ${refusal?.message}`).toBe('REDIS_OOM');
    expect.soft(refusal?.name, 'its class').toBe('RedisOutOfMemory');
    expect.soft(String(refusal?.message ?? ''), 'one line that says what to do').toMatch(/^[^\n]*maxmemory[^\n]*$/i);
    expect.soft(single?.code, `a single put while full: ${single?.message}`).toBe('REDIS_OOM');
    expect.soft(cliPut.code, `asyncq put while full exits non-zero: ${cliPut.stderr}`).not.toBe(0);
    expect.soft(oneLine(cliPut) && /maxmemory|out of memory/i.test(cliPut.stderr), `asyncq put prints one line about memory: ${cliPut.stderr}`).toBe(true);
    expect.soft(outputProblems(cliPut.stdout + cliPut.stderr), 'asyncq put output').toEqual([]);
    expect.soft([stats.code, inspect.code], `read-only commands work while full: ${stats.stderr} ${inspect.stderr}`).toEqual([0, 0]);
    expect.soft(joinerEarly, 'asyncq join waits while Redis is full').toBe('waiting');
    expect.soft(workerStart, `asyncq worker starts while Redis is full: ${worker.stderr.slice(-400)}`).toBe('started');
    expect.soft(fleetStart, `asyncq fleet starts while Redis is full: ${fleet.stderr.slice(-400)}`).toBe('started');
    expect.soft(never.length, 'tasks stored before Redis was full and never run').toBe(0);
    expect.soft(joined?.code, `asyncq join resolves once drained: ${joiner.output.slice(-300)}`).toBe(0);
    for (const p of [worker, fleet, joiner]) expect.soft(outputProblems(p.output), `${p.label} output`).toEqual([]);
  });
});
