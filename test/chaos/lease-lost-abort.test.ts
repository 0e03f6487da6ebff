import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { FaultProxy } from './harness/fault-proxy.js';
import { report, secs } from './harness/figures.js';
import { ledgerDir, readLedger } from './harness/ledger.js';
import { outputProblems } from './harness/output-hygiene.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { FIXTURES, startCli } from './harness/processes.js';

// Scenario 8 (issue 17): a lost lease aborts the handler. Worker A reaches Redis through the fault
// proxy and runs 4 step-wise tasks (20 steps of 500 ms, a side-effect record after each step, each
// handler honouring ctx.signal). The proxy stalls A's connections for 6 s, past its 3 s lease, so
// worker B reclaims the tasks and runs them. Guarantee: A's ctx.signal aborts with LeaseLost (name
// 'LeaseLost', code 'LEASE_LOST') as soon as A knows the lease is gone (at the latest once Redis
// answers again and says so), A logs it once per task (one line, not a stack), and A's handlers,
// which honour their signal, record no side effect after the abort.
const TASKS = 4;
const STEPS = 20;
const STEP_MS = 500;
const LEASE = '3s';
const STALL_MS = 6000;
/** After the stall ends, A must learn of the loss within a renewal round or two: lease / 3 = 1 s, plus slack. */
const KNOW_WITHIN_MS = 5000;

describe('a worker cut off past its lease', () => {
  it('sees ctx.signal abort with LeaseLost, logs it once per task, and makes no side effect after the abort', { timeout: 120_000 }, async () => {
    const redis = await RedisServer.start();
    const proxy = await FaultProxy.start(redis.port);
    const dir = ledgerDir('cut-off');
    const name = 'cut-off';
    const a = startCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-c', String(TASKS), '--lease', LEASE, '--stalled-interval', '1s'], {
      env: { REDIS_URL: proxy.url(), CHAOS_LEDGER_DIR: dir },
      label: 'worker A',
    });
    await a.waitFor(new RegExp(`runs ${name}|started|serves`));
    const q = new Queue(name, { connection: redis.url });
    const keys = Array.from({ length: TASKS }, (_, i) => `L-${i}`);
    const ids = await q.putMany(keys.map((k) => ({ item: { k, ms: STEP_MS, steps: STEPS } })));
    // A has all of them before B exists.
    for (let i = 0; i < 100 && keys.some((k) => !readLedger(dir).byKey.has(k)); i++) await sleep(50);
    const b = startCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-c', String(TASKS), '--lease', LEASE, '--stalled-interval', '1s'], {
      env: { REDIS_URL: redis.url, CHAOS_LEDGER_DIR: dir },
      label: 'worker B',
    });
    await b.waitFor(new RegExp(`runs ${name}|started|serves`));
    await sleep(500);
    const stallAt = Date.now();
    proxy.stall({ ms: STALL_MS, direction: 'both' });
    await sleep(STALL_MS);
    const stallEnd = Date.now();
    // B runs them to the end (up to 10 s each); then give A a moment to log.
    const joiner = startCli(['join', name], { env: { REDIS_URL: redis.url }, label: 'join' });
    const joined = await joiner.exitWithin(40_000);
    await sleep(1000);
    await q.close();

    const view = readLedger(dir);
    const per = keys.map((k) => {
      const runs = view.byKey.get(k) ?? [];
      const aRun = runs.find((e) => e.pid !== b.pid);
      const bRun = runs.find((e) => e.pid === b.pid);
      const aborts = (view.aborts.get(k) ?? []).filter((x) => x.pid !== b.pid);
      const abort = aborts[0];
      const aSteps = (view.steps.get(k) ?? []).filter((s) => s.pid !== b.pid);
      const afterAbort = abort ? aSteps.filter((s) => s.at > abort.at).length : 0;
      const afterTakeover = bRun ? aSteps.filter((s) => s.at > bRun.start).length : 0;
      return { k, aRun, bRun, abort, aborts: aborts.length, aSteps: aSteps.length, afterAbort, afterTakeover, bFinished: bRun?.end !== undefined };
    });
    const aborted = per.filter((p) => p.abort);
    const leaseLines = a.stderr.split('\n').filter((l) => /lease/i.test(l));
    const linesPerTask = ids.map((id) => leaseLines.filter((l) => new RegExp(`taskId[=":]+${id}\\b`).test(l)).length);
    const knownAfterStall = aborted.map((p) => p.abort!.at - stallEnd);

    report('lease-lost-abort', {
      tasks: TASKS,
      takenOverByB: per.filter((p) => p.bRun).length,
      aborted: aborted.length,
      reasons: [...new Set(aborted.map((p) => p.abort!.reason))].join(',') || '-',
      abortAfterStallEnd: secs(knownAfterStall.length ? Math.max(...knownAfterStall) : undefined),
      abortAfterStallStart: secs(aborted.length ? Math.max(...aborted.map((p) => p.abort!.at - stallAt)) : undefined),
      sideEffectsAfterAbort: per.reduce((n, p) => n + p.afterAbort, 0),
      sideEffectsBesideB: per.reduce((n, p) => n + p.afterTakeover, 0),
      aStepsRecorded: per.reduce((n, p) => n + p.aSteps, 0),
      leaseLogLines: leaseLines.length,
      joinExit: joined ? joined.code : 'still waiting',
    });
    expect(per.filter((p) => p.aRun).length, 'A started every task before the stall').toBe(TASKS);
    expect.soft(per.filter((p) => !p.bRun).map((p) => p.k), 'B took every task over').toEqual([]);
    expect.soft(per.filter((p) => !p.abort).map((p) => p.k), 'A\'s ctx.signal aborted for every task it lost').toEqual([]);
    expect.soft(aborted.filter((p) => p.abort!.reason !== 'LeaseLost:LEASE_LOST').map((p) => `${p.k}: ${p.abort!.reason}`), 'the abort reason is LeaseLost (code LEASE_LOST)').toEqual([]);
    expect.soft(aborted.filter((p) => p.aborts > 1).map((p) => p.k), 'aborted once').toEqual([]);
    expect.soft(per.filter((p) => p.afterAbort > 0).map((p) => `${p.k}: ${p.afterAbort} steps`), 'side effects A recorded after its signal aborted').toEqual([]);
    expect.soft(knownAfterStall.filter((ms) => ms > KNOW_WITHIN_MS), `A aborted within ${KNOW_WITHIN_MS} ms of Redis answering again`).toEqual([]);
    expect.soft(leaseLines.length, `A logs the lost lease once per task: ${leaseLines.join(' | ').slice(0, 600)}`).toBe(TASKS);
    expect.soft(linesPerTask, 'lines naming each lost task').toEqual(ids.map(() => 1));
    expect.soft(outputProblems(a.output), 'A prints no stack trace').toEqual([]);
    expect.soft(per.filter((p) => !p.bFinished).map((p) => p.k), 'B finished every task').toEqual([]);
    expect.soft(joined?.code, 'join resolves').toBe(0);
  });
});
