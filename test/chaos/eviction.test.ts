import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientOutcome } from './harness/client-events.js';
import { report, secs } from './harness/figures.js';
import { ledgerDir, ledgerSettled } from './harness/ledger.js';
import { linesOf, outputProblems } from './harness/output-hygiene.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { FIXTURES, runCli, startCli, startNode } from './harness/processes.js';

// Scenario 3 (issue 17): a Redis with `maxmemory` and `maxmemory-policy allkeys-lru` under a
// backlog evicts whatever it likes: job hashes, lists, leases. asyncq requires `noeviction`.
// Guarantee: every process that connects (worker, producer, CLI) warns once at start, naming the
// policy and the fix; `--strict-redis` makes that a one-line error and a non-zero exit; and an
// eviction that loses tasks is reported to joiners as QueueDataLost (with the partition and how
// many are missing), never a hang and never a join that resolves as if they had run.
const BACKLOG = 20_000;
const PAD = 'x'.repeat(600);
const policyLine = (text: string): string[] => linesOf(text).filter((l) => /allkeys-lru/.test(l));

describe('a Redis that evicts (maxmemory-policy allkeys-lru)', () => {
  it('is warned about once per process, refused under --strict-redis, and a loss by eviction reaches joiners as QueueDataLost', { timeout: 180_000 }, async () => {
    const redis = await RedisServer.start({ maxmemory: '10mb', maxmemoryPolicy: 'allkeys-lru' });
    const dir = ledgerDir('evict');
    const name = 'evict';
    const env = { REDIS_URL: redis.url, CHAOS_LEDGER_DIR: dir };

    // The warning: from a library producer, a worker, and the CLI's put.
    const producer = startNode('producer.mjs', [], { env: { CHAOS: JSON.stringify({ url: redis.url, queue: name, name: 'p', count: 100, ackDir: dir }) }, label: 'producer' });
    await producer.exitWithin(30_000);
    const probe = startCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', `${name}-probe`], { env, label: 'probe worker' });
    await probe.waitFor(/runs|started|serves/, 20_000).catch(() => {});
    await sleep(1500);
    probe.signal('SIGTERM');
    await probe.exitWithin(15_000);

    // --strict-redis: a one-line error naming the policy, a non-zero exit, nothing enqueued or run.
    const strictPut = await runCli(['put', name, '{"k":"strict"}', '--strict-redis'], { env });
    const strictWorker = await runCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '--strict-redis'], { env, timeoutMs: 15_000 });

    // Joiners wait (a library one, which reports the error's fields, and the CLI), then the backlog.
    const joiner = startNode('queue-client.mjs', ['join'], { env: { CHAOS: JSON.stringify({ url: redis.url, queue: name }) }, label: 'joiner' });
    const cliJoiner = startCli(['join', name], { env, label: 'asyncq join' });
    await joiner.waitFor(/"ready"/);
    await sleep(1000);
    const file = join(dir, 'backlog.ndjson');
    writeFileSync(file, Array.from({ length: BACKLOG }, (_, i) => JSON.stringify({ k: `e-${i}`, pad: PAD })).join('\n') + '\n');
    const put = await runCli(['put', name, '--file', file], { env, timeoutMs: 60_000 });
    const stats = /evicted_keys:(\d+)/.exec(await redis.client().info('stats'))?.[1];

    // Drain with a worker; joiners must end, one way or the other.
    const t0 = Date.now();
    const worker = startCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-c', '32'], { env, label: 'worker' });
    const [joined, cliJoined] = await Promise.all([joiner.exitWithin(60_000), cliJoiner.exitWithin(60_000)]);
    const outcome = clientOutcome(joiner);
    // The worker runs what is left, so that `lost` counts what eviction took, not what still waited.
    await worker.waitFor(/started|serves|runs/, 30_000).catch(() => {});
    const view = await ledgerSettled(dir);
    const acked = 100 + (put.code === 0 ? BACKLOG : 0);
    const ran = [...view.byKey.keys()].filter((k) => /^(p|e)-\d+$/.test(k)).length;
    const lost = acked - ran;

    report('eviction-allkeys-lru', {
      evictedKeys: stats ?? '-',
      acknowledged: acked,
      ran,
      lost,
      warnProducer: policyLine(producer.stderr).length,
      warnWorker: policyLine(probe.stderr).length,
      warnCliPut: policyLine(put.stderr).length,
      strictPutExit: strictPut.code,
      strictWorkerExit: strictWorker.timedOut ? 'still running' : strictWorker.code,
      joinerOutcome: outcome ? (outcome.event === 'error' ? outcome.code ?? outcome.name : outcome.event) : joined ? 'exited' : 'still waiting',
      missing: outcome?.missing,
      partition: outcome?.partition,
      cliJoinExit: cliJoined ? cliJoined.code : 'still waiting',
      joinersEndAfter: secs(joined ? joined.at - t0 : undefined),
    });
    for (const [who, text] of [['producer (library)', producer.stderr], ['asyncq worker', probe.stderr], ['asyncq put', put.stderr]] as const) {
      const lines = policyLine(text);
      expect.soft(lines.length, `${who} warns once about allkeys-lru: ${text.slice(-400)}`).toBe(1);
      expect.soft(lines.every((l) => /noeviction/.test(l)), `${who}'s warning names the fix (noeviction): ${lines.join(' | ')}`).toBe(true);
    }
    for (const [who, run] of [['asyncq put --strict-redis', strictPut], ['asyncq worker --strict-redis', strictWorker]] as const) {
      expect.soft(run.code !== 0 && !run.timedOut, `${who} exits non-zero`).toBe(true);
      expect.soft(linesOf(run.stderr).length === 1 && /allkeys-lru/.test(run.stderr), `${who}: one line naming the policy: ${run.stderr}`).toBe(true);
      expect.soft(outputProblems(run.stdout + run.stderr), `${who} output`).toEqual([]);
    }
    expect.soft(view.byKey.has('strict'), 'the put refused under --strict-redis ran').toBe(false);
    expect(Number(stats ?? 0), 'Redis evicted keys (the scenario\'s premise)').toBeGreaterThan(0);
    expect.soft(joined, 'the library joiner ends (no hang)').toBeDefined();
    expect.soft(cliJoined, 'asyncq join ends (no hang)').toBeDefined();
    if (lost > 0) {
      expect.soft(outcome?.code, `tasks were lost (${lost}): the joiner is told; it said ${JSON.stringify(outcome)}`).toBe('QUEUE_DATA_LOST');
      expect.soft(outcome?.missing ?? 0, 'QueueDataLost says how many tasks are missing').toBeGreaterThan(0);
      expect.soft(outcome?.partition, 'QueueDataLost names the partition').toBe(0);
      expect.soft(cliJoined?.code, 'asyncq join exits non-zero after a loss').not.toBe(0);
      expect.soft(linesOf(cliJoiner.stderr).at(-1) ?? '', 'asyncq join says so in its last line').toMatch(/QUEUE_DATA_LOST|lost/i);
    } else {
      expect.soft(outcome?.event, 'nothing was lost: the joiner resolves').toBe('joined');
    }
    for (const p of [worker, cliJoiner]) expect.soft(outputProblems(p.output), `${p.label} output`).toEqual([]);
  });
});
