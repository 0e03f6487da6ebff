import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { report, secs } from './harness/figures.js';
import { ledgerDir, readLedger, unfinishedKeys } from './harness/ledger.js';
import { outputProblems } from './harness/output-hygiene.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { argvOf, FIXTURES, runCli, startCli, startNode } from './harness/processes.js';

// Scenario 2 (issue 10): Redis is SIGKILLed mid-run and restarted on the same port with the same
// dir, with AOF `appendfsync always`. Guarantee: a task is lost only if Redis loses it, so no
// acknowledged put is lost; and every process resumes by itself.
const PRELOAD = 1000;
const PRODUCERS = 2;
const PER_PRODUCER = 300;
const TASK_MS = 60;

describe('Redis SIGKILL and restart with AOF always', () => {
  it('loses no acknowledged put; producers, fleet and joiner resume unaided', { timeout: 200_000 }, async () => {
    const redis = await RedisServer.start({ aof: true });
    const dir = ledgerDir('aof');
    const name = 'aof';
    const env = { REDIS_URL: redis.url, CHAOS_LEDGER_DIR: dir };

    const fleet = startCli(['fleet', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-w', '2', '-c', '8'], { env, label: 'fleet' });
    await fleet.waitFor(/serves aof/);
    // A backlog put before the crash, acknowledged by the command's exit code.
    const file = join(dir, 'preload.ndjson');
    writeFileSync(file, Array.from({ length: PRELOAD }, (_, i) => JSON.stringify({ k: `pre-${i}`, ms: TASK_MS })).join('\n') + '\n');
    const preload = await runCli(['put', name, '--file', file], { env, timeoutMs: 30_000 });
    expect(preload.code, preload.stderr).toBe(0);
    const joiner = startCli(['join', name], { env, label: 'join' });
    const producers = Array.from({ length: PRODUCERS }, (_, i) =>
      startNode('producer.mjs', [], {
        label: `producer p${i}`,
        env: { CHAOS: JSON.stringify({ url: redis.url, queue: name, name: `p${i}`, count: PER_PRODUCER, ms: TASK_MS, ackDir: dir, pauseMs: 2 }) },
      }),
    );
    await Promise.all(producers.map((p) => p.waitFor(/starts/)));
    await sleep(2500);
    const workersBefore = fleet.children().filter((p) => argvOf(p)?.some((a) => a === 'worker' || a === 'fleet-worker')).sort();

    const ackedBeforeKill = readLedger(dir).acks.size;
    const killedAt = Date.now();
    await redis.kill();
    // Down long enough that every process issues commands while it is gone (joiners re-check every second).
    await sleep(4000);
    await redis.restart(); // same port, same dir: the AOF is replayed
    const restartedAt = Date.now();

    const producerExits = await Promise.all(producers.map((p) => p.exitWithin(120_000)));
    const producersDoneAt = Date.now();
    const joined = await joiner.exitWithin(Math.max(1000, 60_000 - (Date.now() - producersDoneAt)));
    // The joiner may legitimately resolve before the producers end; a second join covers the rest.
    const finalJoin = await runCli(['join', name, '--timeout', '60'], { env, timeoutMs: 70_000 });
    const workersAfter = fleet.children().filter((p) => argvOf(p)?.some((a) => a === 'worker' || a === 'fleet-worker')).sort();

    const view = readLedger(dir);
    const acked = [...Array.from({ length: PRELOAD }, (_, i) => `pre-${i}`), ...view.acks.keys()];
    const lost = unfinishedKeys(view, acked);
    const resumedAfter = [...view.byKey.values()].flat().filter((e) => e.start > restartedAt).map((e) => e.start - restartedAt);
    const firstExecutionAfterRestart = resumedAfter.length ? Math.min(...resumedAfter) : undefined;
    const acksAfter = [...view.acks.values()].filter((t) => t > restartedAt).map((t) => t - restartedAt);
    const workerRestarts = [...fleet.stderr.matchAll(/a worker (was killed by \S+|exited with code \S+)/g)].map((m) => m[1]);

    report('redis-crash-aof', {
      acked: acked.length,
      ackedBeforeKill: ackedBeforeKill + PRELOAD,
      lostAcked: lost.length,
      outage: secs(restartedAt - killedAt),
      producersResumeIn: secs(acksAfter.length ? Math.min(...acksAfter) : undefined),
      workersResumeIn: secs(firstExecutionAfterRestart),
      workerExits: workerRestarts.length,
      joinerExit: joined ? String(joined.code) : 'still waiting',
      finalJoinExit: String(finalJoin.code),
      producerExits: producerExits.map((e) => (e ? (e.code ?? e.signal) : 'running')).join(','),
      producersDoneAfterRestart: secs(producersDoneAt - restartedAt),
    });
    console.log(`[chaos] redis-crash-aof output problems: ${JSON.stringify([fleet, joiner, ...producers].flatMap((p) => outputProblems(p.output).map((x) => `${p.label}: ${x}`)))}`);

    expect.soft(lost.slice(0, 10), `${lost.length} acknowledged puts never executed`).toEqual([]);
    expect.soft(producerExits.map((e) => e?.code), `producers: ${producers.map((p) => p.stderr.slice(-300)).join(' | ')}`).toEqual(producers.map(() => 0));
    expect.soft(workerRestarts, `worker processes died with Redis (fleet log: ${fleet.stderr.slice(-800)})`).toEqual([]);
    expect.soft(workersAfter, 'the same worker processes run after the restart').toEqual(workersBefore);
    expect.soft(fleet.alive, 'the fleet is still running').toBe(true);
    expect.soft(joined?.code, `the joiner did not resolve (exit ${joined?.code}); output: ${joiner.output.slice(-500)}`).toBe(0);
    expect.soft(joined && joined.at > restartedAt, 'the joiner was waiting across the crash').toBe(true);
    expect.soft(finalJoin.code, `${finalJoin.stdout} ${finalJoin.stderr}`).toBe(0);
    expect.soft(firstExecutionAfterRestart, 'workers ran tasks after the restart').toBeDefined();
  });
});
