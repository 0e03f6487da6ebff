import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { FaultProxy, type ReplyCut } from './harness/fault-proxy.js';
import { report, secs } from './harness/figures.js';
import { duplicateExecutions, ledgerDir, readLedger, unfinishedKeys } from './harness/ledger.js';
import { outputProblems } from './harness/output-hygiene.js';
import { duplicatesByKey, storedTasks } from './harness/queue-peek.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { FIXTURES, startCli, type ChaosProcess } from './harness/processes.js';

// Scenario 1 (issue 17): a reply lost on the wire after Redis ran the command. The fault proxy lets
// the command through, then cuts the connection when its reply arrives; ioredis reconnects and, by
// default (autoResendUnfulfilledCommands), sends the unanswered command again. Guarantee: a reply
// lost on the wire never doubles a put or strands a task, `join` resolves correctly and promptly,
// and a worker never says a task it completed "runs again".
//
// Bounds: a put or putMany whose reply was cut stores each item once and resolves with its ids; a
// consume whose reply was cut strands nothing (what it reserved comes back, to the same handle,
// within lease + stalledInterval) and runs nothing twice; an acknowledgement whose reply was cut may
// at most run its own task once more (at-least-once), and no other.
const EVAL = /^EVAL(SHA)?(_RO)?$/;
/** The join must resolve within this after the last task ran: default lease (7 s) + stalled interval (2 s) + slack. */
const JOIN_BOUND_MS = 25_000;

async function world(label: string): Promise<{ redis: RedisServer; proxy: FaultProxy; dir: string; name: string }> {
  const redis = await RedisServer.start();
  const proxy = await FaultProxy.start(redis.port);
  return { redis, proxy, dir: ledgerDir(`reply-${label}`), name: `reply-${label}` };
}

async function firedWithin(cut: ReplyCut, ms: number): Promise<boolean> {
  return Promise.race([cut.fired.then(() => true), sleep(ms).then(() => false)]);
}

/** Runs a worker (straight to Redis) and a joiner until the queue is drained, for the put cases. */
async function drain(redis: RedisServer, name: string, dir: string): Promise<{ joinCode: number | null | undefined; joinMs: number | undefined; worker: ChaosProcess }> {
  const env = { REDIS_URL: redis.url, CHAOS_LEDGER_DIR: dir };
  const worker = startCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-c', '16'], { env, label: 'worker' });
  const joiner = startCli(['join', name], { env, label: 'join' });
  const t0 = Date.now();
  const exit = await joiner.exitWithin(60_000);
  return { joinCode: exit?.code, joinMs: exit ? exit.at - t0 : undefined, worker };
}

describe('a reply lost after Redis ran the command', () => {
  it('putMany of 3,000 items, the reply to its second batch cut: each item stored once, ids returned', { timeout: 120_000 }, async () => {
    const { redis, proxy, dir, name } = await world('putmany');
    const q = new Queue(name, { connection: proxy.url() });
    const cut = proxy.cutReplyTo({ command: EVAL, args: (a) => a.some((x) => x.includes('"k":"pm-1500"')) });
    let ids: string[] = [];
    let error: unknown;
    const t0 = Date.now();
    try {
      ids = await q.putMany(Array.from({ length: 3000 }, (_, i) => ({ item: { k: `pm-${i}` } })), { timeout: 30_000 });
    } catch (e) {
      error = e;
    }
    const putMs = Date.now() - t0;
    await q.close();
    const stored = await storedTasks(redis.client(), name);
    const { byKey, duplicated } = duplicatesByKey(stored);
    const { joinCode, joinMs } = await drain(redis, name, dir);
    const view = readLedger(dir);
    const dups = duplicateExecutions(view);
    const never = unfinishedKeys(view, Array.from({ length: 3000 }, (_, i) => `pm-${i}`));

    report('reply-lost-putmany', {
      cuts: cut.records.length,
      resolved: error === undefined,
      error: error === undefined ? undefined : `${(error as { code?: string }).code ?? (error as Error).name}`,
      idsReturned: ids.length,
      distinctIds: new Set(ids).size,
      stored: stored.length,
      duplicatedItems: duplicated.length,
      putTime: secs(putMs),
      executedTwice: dups.tasks,
      neverRan: never.length,
      joinExit: joinCode ?? 'still waiting',
      joinTime: secs(joinMs),
    });
    expect(cut.records.length, 'the trap fired: the reply to the batch holding pm-1500 was cut').toBe(1);
    expect.soft(error, 'putMany resolves: the lost reply is not the caller\'s problem').toBeUndefined();
    expect.soft(duplicated.length, `items stored more than once (e.g. ${duplicated.slice(0, 3).join(', ')})`).toBe(0);
    expect.soft(stored.length, 'tasks stored for 3,000 items').toBe(3000);
    expect.soft(byKey.size, 'distinct items stored').toBe(3000);
    expect.soft(ids.length, 'ids returned').toBe(3000);
    expect.soft(new Set(ids).size, 'distinct ids returned').toBe(3000);
    expect.soft(dups.tasks, 'items run more than once').toBe(0);
    expect.soft(never.length, 'items never run').toBe(0);
    expect.soft(joinCode, 'asyncq join resolves once every item ran').toBe(0);
  });

  it('a single put, its reply cut: stored once, its id returned', { timeout: 120_000 }, async () => {
    const { redis, proxy, dir, name } = await world('put');
    const q = new Queue(name, { connection: proxy.url() });
    for (let i = 0; i < 10; i++) await q.put({ k: `before-${i}` });
    const cut = proxy.cutReplyTo({ command: EVAL, args: (a) => a.some((x) => x.includes('"k":"single"')) });
    let id: string | undefined;
    let error: unknown;
    try {
      id = await q.put({ k: 'single' }, { timeout: 20_000 });
    } catch (e) {
      error = e;
    }
    for (let i = 0; i < 10; i++) await q.put({ k: `after-${i}` });
    await q.close();
    const stored = await storedTasks(redis.client(), name);
    const { byKey, duplicated } = duplicatesByKey(stored);
    const storedIds = new Set(stored.map((t) => t.id));
    const { joinCode } = await drain(redis, name, dir);
    const view = readLedger(dir);

    report('reply-lost-put', {
      cuts: cut.records.length,
      resolved: error === undefined,
      error: error === undefined ? undefined : `${(error as { code?: string }).code ?? (error as Error).name}`,
      storedSingle: byKey.get('single') ?? 0,
      stored: stored.length,
      idStored: id !== undefined && storedIds.has(id),
      singleRuns: view.byKey.get('single')?.length ?? 0,
      joinExit: joinCode ?? 'still waiting',
    });
    expect(cut.records.length, 'the trap fired: the reply to the put of "single" was cut').toBe(1);
    expect.soft(error, 'put resolves').toBeUndefined();
    expect.soft(byKey.get('single'), 'the item stored once').toBe(1);
    expect.soft(duplicated, 'no item stored twice').toEqual([]);
    expect.soft(stored.length, 'tasks stored for 21 puts').toBe(21);
    expect.soft(id !== undefined && storedIds.has(id), `the id put returned (${id}) is the stored task`).toBe(true);
    expect.soft(view.byKey.get('single')?.length, 'the item ran once').toBe(1);
    expect.soft(joinCode, 'asyncq join resolves').toBe(0);
  });

  it('a worker\'s fetch, its reply cut: nothing stranded, nothing run twice, join resolves promptly', { timeout: 120_000 }, async () => {
    const { redis, proxy, dir, name } = await world('consume');
    const N = 40;
    // One worker only: nobody else could reclaim what its lost fetch reserved.
    const worker = startCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-c', '4'], { env: { REDIS_URL: proxy.url(), CHAOS_LEDGER_DIR: dir }, label: 'worker' });
    await worker.waitFor(new RegExp(`runs ${name}|started|serves`));
    const q = new Queue(name, { connection: redis.url });
    await q.put({ k: 'warm-up' }); // the queue exists and the worker idles on it
    await sleep(500);
    const cut = proxy.cutReplyTo({ command: EVAL, reply: (raw) => raw.includes('"k":"c-') });
    await q.putMany(Array.from({ length: N }, (_, i) => ({ item: { k: `c-${i}`, ms: 100 } })));
    const joiner = startCli(['join', name], { env: { REDIS_URL: redis.url }, label: 'join' });
    const fired = await firedWithin(cut, 20_000);
    const keys = Array.from({ length: N }, (_, i) => `c-${i}`);
    // Wait for every task to run, then up to the bound for the joiner.
    for (let i = 0; i < 400 && unfinishedKeys(readLedger(dir), keys).length > 0; i++) await sleep(100);
    const lastEnd = Math.max(0, ...[...readLedger(dir).byKey.values()].flat().map((e) => e.end ?? 0));
    const exit = await joiner.exitWithin(Math.max(1000, lastEnd + JOIN_BOUND_MS - Date.now()));
    const view = readLedger(dir);
    const dups = duplicateExecutions(view);
    const never = unfinishedKeys(view, keys);
    const stored = await storedTasks(redis.client(), name);
    const counts = await q.counts();
    await q.close();

    report('reply-lost-consume', {
      cuts: cut.records.length,
      tasks: N,
      ran: N - never.length,
      executedTwice: dups.tasks,
      stranded: never.length,
      activeLeft: stored.filter((t) => t.place === 'active').length,
      unfinished: counts.unfinished,
      joinExit: exit ? exit.code : 'still waiting',
      joinAfterLastRun: secs(exit && lastEnd ? exit.at - lastEnd : undefined),
    });
    expect(fired, 'the trap fired: a fetch reply carrying tasks was cut').toBe(true);
    expect.soft(never, 'tasks never run (stranded under the worker\'s own lease)').toEqual([]);
    expect.soft(dups.tasks, 'tasks run twice').toBe(0);
    expect.soft(exit?.code, `asyncq join resolves within ${JOIN_BOUND_MS / 1000} s of the last task; its output: ${joiner.output.slice(-300)}`).toBe(0);
    expect.soft(counts.unfinished, 'unfinished tasks left in Redis').toBe(0);
    expect.soft(outputProblems(worker.output), 'worker output').toEqual([]);
  });

  it('an acknowledgement, its reply cut: the completed task is not said to run again, join resolves', { timeout: 120_000 }, async () => {
    const { redis, proxy, dir, name } = await world('ack');
    const N = 20;
    const worker = startCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-c', '1'], { env: { REDIS_URL: proxy.url(), CHAOS_LEDGER_DIR: dir }, label: 'worker' });
    await worker.waitFor(new RegExp(`runs ${name}|started|serves`));
    const q = new Queue(name, { connection: redis.url });
    await q.put({ k: 'warm-up' });
    await sleep(500);
    // Only the acknowledgement carries the marked task's result ("ack-marker").
    const cut = proxy.cutReplyTo({ command: EVAL, args: (a) => a.some((x) => x.includes('ack-marker')) });
    const ids = await q.putMany(Array.from({ length: N }, (_, i) => ({ item: { k: `a-${i}`, ms: 50, ...(i === 5 ? { result: 'ack-marker' } : {}) } })));
    const joiner = startCli(['join', name], { env: { REDIS_URL: redis.url }, label: 'join' });
    const fired = await firedWithin(cut, 20_000);
    const keys = Array.from({ length: N }, (_, i) => `a-${i}`);
    for (let i = 0; i < 400 && unfinishedKeys(readLedger(dir), keys).length > 0; i++) await sleep(100);
    const lastEnd = Math.max(0, ...[...readLedger(dir).byKey.values()].flat().map((e) => e.end ?? 0));
    const exit = await joiner.exitWithin(Math.max(1000, lastEnd + JOIN_BOUND_MS - Date.now()));
    await sleep(500); // a last log line
    const view = readLedger(dir);
    const never = unfinishedKeys(view, keys);
    const markedRuns = view.byKey.get('a-5')?.length ?? 0;
    const othersTwice = [...view.byKey].filter(([k, l]) => k !== 'a-5' && k !== 'warm-up' && l.length > 1).map(([k]) => k);
    const runsAgain = worker.stderr.split('\n').filter((l) => /runs again|lost its lease|LEASE_LOST/i.test(l));
    const counts = await q.counts();
    await q.close();

    report('reply-lost-ack', {
      cuts: cut.records.length,
      markedTask: ids[5],
      markedRuns,
      othersRunTwice: othersTwice.length,
      stranded: never.length,
      runsAgainLines: runsAgain.length,
      unfinished: counts.unfinished,
      joinExit: exit ? exit.code : 'still waiting',
      joinAfterLastRun: secs(exit && lastEnd ? exit.at - lastEnd : undefined),
    });
    expect(fired, 'the trap fired: the acknowledgement of the marked task had its reply cut').toBe(true);
    expect.soft(runsAgain, 'the worker says a task it completed lost its lease and runs again').toEqual([]);
    expect.soft(markedRuns, 'the task whose acknowledgement reply was cut runs at most once more (at-least-once)').toBeLessThanOrEqual(2);
    expect.soft(othersTwice, 'no other task runs twice').toEqual([]);
    expect.soft(never, 'tasks never run (stranded)').toEqual([]);
    expect.soft(exit?.code, `asyncq join resolves within ${JOIN_BOUND_MS / 1000} s of the last task; its output: ${joiner.output.slice(-300)}`).toBe(0);
    expect.soft(counts.unfinished, 'unfinished tasks left in Redis').toBe(0);
  });
});
