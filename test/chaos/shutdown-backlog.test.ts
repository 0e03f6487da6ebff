import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { report, secs } from './harness/figures.js';
import { ledgerDir, readLedger, unfinishedKeys } from './harness/ledger.js';
import { linesOf } from './harness/output-hygiene.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { FIXTURES, runCli, startCli, startNode, type ChaosProcess } from './harness/processes.js';

// Scenario 5 (issue 10): shutdown of a queue with a backlog, normal and immediate (Python 3.13
// semantics, cluster-wide).
// Normal: running tasks and the backlog finish, puts fail everywhere with QueueShutDown, workers exit by themselves.
// Immediate: waiting tasks are discarded, getters are woken with QueueShutDown, join resolves once held tasks are done.

function ndjson(dir: string, file: string, items: object[]): string {
  const path = join(dir, file);
  writeFileSync(path, items.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return path;
}

function clientEvent(p: ChaosProcess, event: string): Record<string, unknown> | undefined {
  return p.lines().map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === event);
}

async function ledgerEnds(dir: string, keys: string[], ms: number): Promise<string[]> {
  const until = Date.now() + ms;
  for (;;) {
    const left = unfinishedKeys(readLedger(dir), keys);
    if (left.length === 0 || Date.now() > until) return left;
    await sleep(200);
  }
}

describe('shutdown with a backlog', () => {
  it('normal: the backlog finishes, puts fail everywhere, workers exit by themselves', { timeout: 120_000 }, async () => {
    const redis = await RedisServer.start();
    const dir = ledgerDir('shutdown');
    const name = 'sd-normal';
    const env = { REDIS_URL: redis.url, CHAOS_LEDGER_DIR: dir };
    // The backlog first, and a put waiting for room (its handle's maxsize is 10), before any worker runs:
    // however slow the machine, the put cannot get room before the shutdown.
    // 600 tasks of 200 ms on 12 slots: about 10 s of backlog, so the shutdown lands while hundreds wait.
    const keys = Array.from({ length: 600 }, (_, i) => `n${i}`);
    const put = await runCli(['put', name, '--file', ndjson(dir, 'backlog.ndjson', keys.map((k) => ({ k, ms: 200 })))], { env, timeoutMs: 30_000 });
    expect(put.code, put.stderr).toBe(0);
    const waitingPut = startNode('queue-client.mjs', ['put'], { env: { CHAOS: JSON.stringify({ url: redis.url, queue: name, maxsize: 10, item: { k: 'late' } }) } });
    await waitingPut.waitFor(/"ready"/);
    const joiner = startCli(['join', name], { env, label: 'join' });
    const workers = [0, 1].map((i) => startCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-c', '4'], { env, label: `worker ${i}` }));
    const fleet = startCli(['fleet', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-w', '1', '-c', '4'], { env, label: 'fleet' });
    await Promise.all([...workers.map((w) => w.waitFor(/runs sd-normal/)), fleet.waitFor(/serves sd-normal/)]);
    // Shut down once tasks are running.
    for (let i = 0; i < 100 && readLedger(dir).byKey.size < 8; i++) await sleep(100);
    expect(clientEvent(waitingPut, 'put'), 'the put with maxsize 10 still waits for room when the shutdown comes').toBeUndefined();

    const shutdown = await runCli(['shutdown', name], { env });
    const shutAt = Date.now();
    const cliPut = await runCli(['put', name, '{"k":"after"}'], { env });
    const libPut = startNode('queue-client.mjs', ['put'], { env: { CHAOS: JSON.stringify({ url: redis.url, queue: name, item: { k: 'after-lib' } }) } });
    const libExit = await libPut.exitWithin(15_000);
    const waitingExit = await waitingPut.exitWithin(10_000);
    const left = await ledgerEnds(dir, keys, 40_000);
    const workerExits = await Promise.all(workers.map((w) => w.exitWithin(20_000)));
    const joined = await joiner.exitWithin(20_000);
    const fleetExit = await fleet.exitWithin(5000);
    const fleetRestarts = [...fleet.stderr.matchAll(/restarting/g)].length;
    const ran = readLedger(dir);

    report('shutdown-normal', {
      backlog: keys.length,
      unfinishedAfter: left.length,
      workersExit: workerExits.map((e) => (e ? `${e.code}@+${secs(e.at - shutAt)}` : 'running')).join(','),
      joinExit: joined ? String(joined.code) : 'still waiting',
      fleetWorkerRestarts: fleetRestarts,
      fleetExit: fleetExit ? String(fleetExit.code) : 'running',
    });

    expect(shutdown.code, shutdown.stderr).toBe(0);
    expect.soft(left.slice(0, 10), `${left.length} backlog tasks did not finish after the shutdown`).toEqual([]);
    expect.soft(cliPut.code, 'asyncq put after the shutdown fails').toBe(1);
    expect.soft(linesOf(cliPut.stderr), 'with one line').toHaveLength(1);
    expect.soft(cliPut.stderr, 'saying the queue is shut down').toMatch(/shut down/);
    expect.soft(clientEvent(libPut, 'error')?.code, `a library put in another process: ${libPut.stdout}`).toBe('QUEUE_SHUT_DOWN');
    expect.soft(libExit, 'the library put process ends').toBeDefined();
    expect.soft(clientEvent(waitingPut, 'error')?.code, `a put waiting for room is woken with QueueShutDown: ${waitingPut.stdout}`).toBe('QUEUE_SHUT_DOWN');
    expect.soft(waitingExit, 'the waiting put returns').toBeDefined();
    expect.soft(['after', 'after-lib', 'late'].filter((k) => ran.byKey.has(k)), `puts refused by the shutdown never run (waiting put: ${waitingPut.stdout.trim()})`).toEqual([]);
    expect.soft(workerExits.map((e) => e?.code), `workers exit by themselves with 0: ${workers.map((w) => w.stderr.slice(-200)).join(' | ')}`).toEqual([0, 0]);
    expect.soft(joined?.code, `join: ${joiner.output.slice(-300)}`).toBe(0);
    expect.soft(fleetRestarts, `the fleet restarts workers that stopped because the queue is shut down: ${fleet.stderr.slice(-400)}`).toBe(0);
  });

  it('immediate: waiting and delayed tasks are discarded, held ones finish, then join resolves', { timeout: 120_000 }, async () => {
    const redis = await RedisServer.start();
    const dir = ledgerDir('shutdown-imm');
    const name = 'sd-immediate';
    const env = { REDIS_URL: redis.url, CHAOS_LEDGER_DIR: dir };
    const worker = startCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-c', '4'], { env, label: 'worker' });
    await worker.waitFor(/runs sd-immediate/);
    const held = ['h0', 'h1', 'h2', 'h3'];
    // Long enough that no slot frees up before the shutdown: the backlog can only be discarded, never run.
    expect((await runCli(['put', name, '--file', ndjson(dir, 'held.ndjson', held.map((k) => ({ k, ms: 15_000 })))], { env })).code).toBe(0);
    for (let i = 0; i < 100 && readLedger(dir).byKey.size < 4; i++) await sleep(100);
    expect(readLedger(dir).byKey.size, 'the worker holds the 4 long tasks').toBe(4);
    // A backlog while every slot is busy: ready ones and delayed ones.
    expect((await runCli(['put', name, '--file', ndjson(dir, 'ready.ndjson', Array.from({ length: 200 }, (_, i) => ({ k: `r${i}`, ms: 10 })))], { env })).code).toBe(0);
    expect((await runCli(['put', name, '--delay', '60000', '--file', ndjson(dir, 'delayed.ndjson', Array.from({ length: 50 }, (_, i) => ({ k: `d${i}`, ms: 10 })))], { env })).code).toBe(0);
    const joiner = startCli(['join', name], { env, label: 'join' });
    await sleep(500);
    const before = readLedger(dir);
    expect([...before.byKey.keys()].sort(), 'only the held tasks ran before the shutdown').toEqual(held);

    const shutdown = await runCli(['shutdown', name, '--immediate'], { env });
    const shutAt = Date.now();
    await sleep(500);
    const admin = redis.client();
    const base = `asyncq:{${name}}:`;
    const [wait, prioritized, delayed] = await Promise.all([admin.llen(`${base}wait`), admin.zcard(`${base}prioritized`), admin.zcard(`${base}delayed`)]);
    const joined = await joiner.exitWithin(20_000);
    const workerExit = await worker.exitWithin(20_000);
    const view = readLedger(dir);
    const heldEnds = held.map((k) => view.byKey.get(k)?.[0]?.end ?? Infinity);
    const discardedRan = [...view.byKey.keys()].filter((k) => !held.includes(k));

    report('shutdown-immediate', {
      discardedButRan: discardedRan.length,
      leftWaiting: wait + prioritized,
      leftDelayed: delayed,
      heldFinished: heldEnds.filter(Number.isFinite).length,
      joinAfterShutdown: secs(joined ? joined.at - shutAt : undefined),
      workerExit: workerExit ? String(workerExit.code) : 'running',
    });

    expect(shutdown.code, shutdown.stderr).toBe(0);
    expect.soft(wait + prioritized, 'no ready task is left waiting').toBe(0);
    expect.soft(delayed, 'no delayed task is left').toBe(0);
    expect.soft(discardedRan.slice(0, 10), 'discarded tasks never run').toEqual([]);
    expect.soft(heldEnds.every(Number.isFinite), 'the held tasks finished').toBe(true);
    expect.soft(joined?.code, `join: ${joiner.output.slice(-300)}`).toBe(0);
    expect.soft((joined?.at ?? 0) >= Math.max(...heldEnds), 'join resolved only after the held tasks were done').toBe(true);
    expect.soft(workerExit?.code, `the worker exits by itself: ${worker.stderr.slice(-300)}`).toBe(0);
  });

  it('immediate: getters waiting on a queue with only delayed tasks are woken with QueueShutDown', { timeout: 60_000 }, async () => {
    const redis = await RedisServer.start();
    const dir = ledgerDir('shutdown-get');
    const name = 'sd-getters';
    const env = { REDIS_URL: redis.url };
    expect((await runCli(['put', name, '--delay', '60000', '--file', ndjson(dir, 'delayed.ndjson', Array.from({ length: 30 }, (_, i) => ({ k: `d${i}` })))], { env })).code).toBe(0);
    const getters = [0, 1].map((i) => startNode('queue-client.mjs', ['get'], { label: `getter ${i}`, env: { CHAOS: JSON.stringify({ url: redis.url, queue: name }) } }));
    await Promise.all(getters.map((g) => g.waitFor(/"ready"/)));
    await sleep(1000);
    const shutdown = await runCli(['shutdown', name, '--immediate'], { env });
    const shutAt = Date.now();
    const exits = await Promise.all(getters.map((g) => g.exitWithin(5000)));
    const join = await runCli(['join', name, '--timeout', '10'], { env });
    report('shutdown-getters', {
      woken: getters.map((g) => String(clientEvent(g, 'error')?.code ?? (clientEvent(g, 'got') ? 'got a task' : '-'))).join(','),
      wokenAfter: exits.map((e) => (e ? secs(e.at - shutAt) : 'still waiting')).join(','),
      joinExit: String(join.code),
    });
    expect(shutdown.code, shutdown.stderr).toBe(0);
    expect.soft(getters.map((g) => clientEvent(g, 'error')?.code), getters.map((g) => g.stdout).join(' | ')).toEqual(['QUEUE_SHUT_DOWN', 'QUEUE_SHUT_DOWN']);
    expect.soft(exits.every(Boolean), 'both getters woke within 5 s').toBe(true);
    expect.soft(join.code, `join after discarding the delayed tasks: ${join.stdout} ${join.stderr}`).toBe(0);
  });
});
