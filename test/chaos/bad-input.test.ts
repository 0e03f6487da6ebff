import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueAdmin } from '@asyncq/core';
import { Worker } from '@asyncq/worker';
import { report } from './harness/figures.js';
import { ledgerDir, readLedger, unfinishedKeys } from './harness/ledger.js';
import { linesOf, outputProblems } from './harness/output-hygiene.js';
import { freePort, HANDLER_FIXTURES, leaks, malformedUrls, MARKER, RedisServer, sleep } from '@asyncq/test-support';
import { argvOf, FIXTURES, runCli, startCli, type CliRun } from './harness/processes.js';

// Scenario 7 (issue 10): bad input of every kind. Guarantee: bad input gets a one-line error naming
// what is wrong (never a stack trace, a hang or an "unexpected error"); a corrupt job or a hostile
// handler fails its own task, never the worker; nothing a user names can touch another queue's
// keys; secrets never appear in argv or output.

let redis: RedisServer;
let env: Record<string, string>;
const handles: Queue[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
  env = { REDIS_URL: redis.url };
});

afterAll(async () => {
  await Promise.all(handles.map((q) => q.close().catch(() => {})));
});

function queue(name: string, opts: Record<string, unknown> = {}): Queue {
  const q = new Queue(name, { connection: redis.url, ...opts });
  handles.push(q);
  return q;
}

/** How a call ended: resolved, rejected (code and message), or still pending after `ms`. */
async function outcome(p: Promise<unknown>, ms = 1500): Promise<string> {
  p.catch(() => {});
  const r = await Promise.race([
    p.then(
      () => 'resolved',
      (e: { code?: string; name?: string; message?: string }) => `rejected ${e?.code ?? e?.name}: ${String(e?.message).split('\n').length > 1 ? '(several lines) ' : ''}${String(e?.message).slice(0, 120)}`,
    ),
    sleep(ms).then(() => 'pending'),
  ]);
  return r;
}

/** A CLI mistake: exit 1, one line on stderr, nothing a user should not see. */
function mistake(r: CliRun): { code: number | null; lines: number; problems: string[]; timedOut: boolean } {
  return { code: r.code, lines: linesOf(r.stderr).length, problems: outputProblems(r.stdout + r.stderr), timedOut: r.timedOut };
}

async function keyCount(pattern: string, server = redis): Promise<number> {
  const admin = server.client();
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

describe('bad input', () => {
  it('payloads JSON cannot carry faithfully, or too big, are refused at put with a PayloadError', { timeout: 60_000 }, async () => {
    const q = queue('fuzz-payload');
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    const cases: [string, unknown][] = [
      ['function', () => 1],
      ['BigInt', 10n],
      ['cycle', cycle],
      ['Buffer', Buffer.from('binary')],
      ['NaN', NaN],
      ['nested Infinity', { n: [Infinity] }],
      ['64 MB string', 'x'.repeat(64 * 1024 * 1024)],
    ];
    const results: Record<string, string> = {};
    for (const [what, item] of cases) results[what] = await outcome(q.put(item as never), 20_000);
    const counts = await q.counts();
    report('bad-input-payloads', Object.fromEntries(Object.entries(results).map(([k, v]) => [k.replace(/\s/g, '_'), v.split(':')[0]!.replace(/\s/g, '_')])));
    for (const [what] of cases) expect.soft(results[what], `put of a ${what}`).toMatch(/^rejected BAD_PAYLOAD: (?!\(several lines\))/);
    expect.soft(counts.waiting, 'nothing refused was enqueued').toBe(0);
  });

  it('put, get, join and worker timeouts: bad numbers refused, huge ones never fire at once', { timeout: 60_000 }, async () => {
    const q = queue('fuzz-options');
    const bad: [string, Record<string, number>][] = [
      ['delay -1', { delay: -1 }],
      ['delay NaN', { delay: NaN }],
      ['delay Infinity', { delay: Infinity }],
      ['priority -1', { priority: -1 }],
      ['priority NaN', { priority: NaN }],
      ['priority Infinity', { priority: Infinity }],
      ['attempts 0', { attempts: 0 }],
      ['attempts NaN', { attempts: NaN }],
      ['attempts Infinity', { attempts: Infinity }],
    ];
    const refused: Record<string, string> = {};
    for (const [what, opts] of bad) refused[what] = await outcome(q.put({ k: what }, opts));
    for (const [what] of bad) expect.soft(refused[what], `put with ${what}`).toMatch(/^rejected BAD_CONFIG: (?!\(several lines\))/);
    expect.soft((await q.counts()).unfinished, 'nothing refused was enqueued').toBe(0);

    // Timeouts past 2^31 - 1 ms (about 24.8 days): Node's setTimeout would fire them at once.
    const huge = 2 ** 31 + 1000;
    const full = queue('fuzz-full', { maxsize: 1 });
    await full.put({ k: 'fills it' });
    const waits: Record<string, string> = {
      'put timeout 2^31+1000 on a full queue': await outcome(full.put({ k: 'a' }, { timeout: huge })),
      'put timeout Infinity on a full queue': await outcome(full.put({ k: 'b' }, { timeout: Infinity })),
      'get timeout 2^31+1000 on an empty queue': await outcome(queue('fuzz-empty').get({ timeout: huge })),
      'join timeout 2^31+1000 with a task unfinished': await outcome(queue('fuzz-full').join({ timeout: huge })),
    };
    // A worker whose per-attempt timeout is past 2^31 ms: a 300 ms task must complete, not time out at once.
    const wq = queue('fuzz-worker-timeout');
    await wq.put({ k: 'slow' });
    const worker = new Worker('fuzz-worker-timeout', async () => sleep(300).then(() => 'done'), { connection: redis.url, timeout: huge, handleSignals: false });
    const running = worker.run().catch((e: Error) => e);
    let c = await wq.counts();
    for (let i = 0; i < 50 && c.completed + c.failed === 0; i++) {
      await sleep(100);
      c = await wq.counts();
    }
    await worker.close({ graceMs: 0 });
    await running;
    waits['worker timeout 2^31+1000, 300 ms task'] = c.completed === 1 ? 'completed' : c.failed === 1 ? `failed: ${(await wq.failedTasks())[0]?.error}` : 'nothing';
    report('bad-input-timeouts', Object.fromEntries(Object.entries(waits).map(([k, v]) => [k.replace(/[\s^]/g, '_'), v.split(':')[0]!.replace(/\s/g, '_')])));
    for (const what of Object.keys(waits).slice(0, 4)) expect.soft(waits[what], what).toBe('pending');
    expect.soft(waits['worker timeout 2^31+1000, 300 ms task'], 'worker timeout past 2^31 ms').toBe('completed');
  });

  it('queue names with glob characters, control characters or 201 characters are refused and never touch other queues', { timeout: 60_000 }, async () => {
    // A Redis of its own: today "*" deletes every queue in it.
    const own = await RedisServer.start();
    const count = (pattern: string): Promise<number> => keyCount(pattern, own);
    // Queues that must survive whatever is done with the bad names.
    for (const n of ['a', 'b', 'keep']) for (let i = 0; i < 3; i++) await queue(n, { connection: own.url }).put({ k: `${n}${i}` });
    const before = { a: await count('asyncq:{a}:*'), b: await count('asyncq:{b}:*'), keep: await count('asyncq:{keep}:*') };
    const names = ['*', '?', '[a]', 'a\\b', '#', 'a#b', 'a\u0001b', 'tab\there', 'x'.repeat(201)];
    const construct: Record<string, string> = {};
    for (const n of names) {
      try {
        new Queue(n, { connection: own.url }).close().catch(() => {});
        construct[n] = 'accepted';
      } catch (e) {
        const err = e as { code?: string; message: string };
        construct[n] = `${err.code}${err.message.includes('\n') ? ' (several lines)' : ''}`;
      }
    }
    // The data-loss bug: destroy() with a name that is a glob pattern.
    for (const n of ['*', '[a]', '?']) {
      try {
        const admin = new QueueAdmin(n, { connection: own.url });
        await admin.destroy({ force: true }).finally(() => admin.close());
      } catch {
        // refused: what should happen
      }
    }
    const after = { a: await count('asyncq:{a}:*'), b: await count('asyncq:{b}:*'), keep: await count('asyncq:{keep}:*') };
    const cli = mistake(await runCli(['put', '*', '{}'], { env: { REDIS_URL: own.url } }));
    report('bad-input-names', { ...Object.fromEntries(names.map((n) => [JSON.stringify(n.length > 20 ? `${n.length} chars` : n), construct[n]])), keysBefore: JSON.stringify(before), keysAfter: JSON.stringify(after) });
    for (const n of names) expect.soft(construct[n], `new Queue(${JSON.stringify(n.length > 20 ? `<${n.length} chars>` : n)})`).toBe('BAD_CONFIG');
    expect.soft(after, 'destroy() of "*", "[a]" and "?" left the other queues alone').toEqual(before);
    expect.soft(cli, 'asyncq put "*"').toEqual({ code: 1, lines: 1, problems: [], timedOut: false });
  });

  it('CLI arguments: unknown flags, bad numbers, huge timeouts, ASYNCQ_DEBUG, URLs with secrets', { timeout: 120_000 }, async () => {
    const h = `${FIXTURES}ledger-handlers.mjs`;
    const dir = ledgerDir('cli');
    const closed = await freePort();
    const results: Record<string, unknown> = {};
    // Independent commands run side by side: each is mostly node start-up.
    const [unknownFlag, cAbc, cHuge, debug, debugPut] = await Promise.all([
      runCli(['worker', h, '-q', 'cli', '--bogus'], { env }),
      runCli(['worker', h, '-q', 'cli', '-c', 'abc'], { env, timeoutMs: 15_000 }),
      // 1e9 is a whole number: without an upper bound the worker allocates a task loop per slot.
      runCli(['worker', h, '-q', 'cli', '-c', '1e9'], { env: { ...env, CHAOS_LEDGER_DIR: dir }, timeoutMs: 8000, nodeArgs: ['--max-old-space-size=256'] }),
      runCli(['stats'], { env: { ...env, ASYNCQ_DEBUG: '1' } }),
      runCli(['put', 'cli', '{}'], { env: { ...env, ASYNCQ_DEBUG: '1' } }),
    ]);
    results.unknownFlag = mistake(unknownFlag);
    results.cAbc = { ...mistake(cAbc), namesTheValue: /abc/.test(cAbc.stderr) };
    results.cHuge = { ...mistake(cHuge), namesTheFlag: /concurrency/.test(cHuge.stderr) };
    results.asyncqDebugStats = { code: debug.code, stderr: debug.stderr.trim().slice(0, 120) };
    results.asyncqDebugPut = { code: debugPut.code, stderr: debugPut.stderr.trim().slice(0, 120) };

    // join --timeout 2200000 (seconds): 2.2e9 ms is past 2^31 ms; it must wait, not give up at once.
    await queue('cli-join').put({ k: 'unfinished' });
    const join = await runCli(['join', 'cli-join', '--timeout', '2200000'], { env, timeoutMs: 6000 });
    results.joinHugeTimeout = join.timedOut ? 'waiting (right)' : `exited ${join.code} after ${join.ms} ms: ${join.stdout.trim().split('\n')[0]}`;
    // worker --timeout 2200000: a 300 ms task completes.
    const worker = startCli(['worker', h, '-q', 'cli-timeout', '--timeout', '2200000'], { env: { ...env, CHAOS_LEDGER_DIR: dir } });
    await worker.waitFor(/runs cli-timeout/).catch(() => {});
    await runCli(['put', 'cli-timeout', '{"k":"w1","ms":300}'], { env });
    for (let i = 0; i < 50 && unfinishedKeys(readLedger(dir), ['w1']).length > 0; i++) await sleep(100);
    await sleep(500);
    const wq = queue('cli-timeout');
    const wc = await wq.counts();
    results.workerHugeTimeout = { completed: wc.completed, failed: wc.failed, workerAlive: worker.alive, problems: outputProblems(worker.output) };
    worker.signal('SIGTERM');
    await worker.exitWithin(15_000);

    // Secrets in URLs: never printed, and a raw '%' gets a hint to URL-encode.
    const [slash, slashEnv, pct] = await Promise.all([
      runCli(['stats', '--redis-url', `redis://:s3cr/et@127.0.0.1:${closed}`], { env: {}, timeoutMs: 15_000 }),
      runCli(['stats'], { env: { REDIS_URL: `redis://:s3cr/et@127.0.0.1:${closed}` }, timeoutMs: 15_000 }),
      runCli(['stats', '--redis-url', `redis://:50%off@127.0.0.1:${closed}`], { env: {}, timeoutMs: 15_000 }),
    ]);
    results.passwordWithSlash = { ...mistake(slash), leaks: (slash.stdout + slash.stderr).includes('s3cr/et') };
    results.passwordWithSlashInEnv = { ...mistake(slashEnv), leaks: (slashEnv.stdout + slashEnv.stderr).includes('s3cr/et') };
    results.passwordWithRawPercent = { ...mistake(pct), leaks: (pct.stdout + pct.stderr).includes('50%off'), hint: /encode/i.test(pct.stderr) };
    console.log(`[chaos] bad-input-cli: ${JSON.stringify(results)}`);

    expect.soft(results.unknownFlag, '--bogus').toEqual({ code: 1, lines: 1, problems: [], timedOut: false });
    expect.soft(results.cAbc, '-c abc').toEqual({ code: 1, lines: 1, problems: [], timedOut: false, namesTheValue: true });
    expect.soft(results.cHuge, '-c 1e9').toEqual({ code: 1, lines: 1, problems: [], timedOut: false, namesTheFlag: true });
    expect.soft(debug.code, `ASYNCQ_DEBUG=1 asyncq stats: ${debug.stderr}`).toBe(0);
    expect.soft(debugPut.code, `ASYNCQ_DEBUG=1 asyncq put: ${debugPut.stderr}`).toBe(0);
    expect.soft(results.joinHugeTimeout, 'asyncq join --timeout 2200000').toBe('waiting (right)');
    expect.soft(results.workerHugeTimeout, 'asyncq worker --timeout 2200000 runs a 300 ms task').toEqual({ completed: 1, failed: 0, workerAlive: true, problems: [] });
    expect.soft(results.passwordWithSlash, 'a password with "/" in --redis-url').toMatchObject({ lines: 1, problems: [], timedOut: false, leaks: false });
    expect.soft(slash.code, 'exit code').not.toBe(0);
    expect.soft(results.passwordWithSlashInEnv, 'a password with "/" in REDIS_URL').toMatchObject({ lines: 1, problems: [], timedOut: false, leaks: false });
    expect.soft(results.passwordWithRawPercent, 'a raw "%" in the password').toEqual({ code: 1, lines: 1, problems: [], timedOut: false, leaks: false, hint: true });
  });

  it('garbage in every key type: a poisoned task fails alone, the worker lives, stats still works', { timeout: 120_000 }, async () => {
    const dir = ledgerDir('garbage');
    const admin = redis.client();
    const handlers = `${FIXTURES}ledger-handlers.mjs`;
    const wenv = { ...env, CHAOS_LEDGER_DIR: dir };
    // One queue per kind of poisoned job, each with its own worker, so one crash does not hide another.
    const poisons: [string, string, string][] = [
      ['data', 'data', 'not json {'],
      ['opts', 'opts', '{{{ garbage'],
      ['timestamp', 'timestamp', 'abc'],
    ];
    const bad: Record<string, string> = {};
    const good: Record<string, string[]> = {};
    for (const [kind, field, value] of poisons) {
      const q = queue(`poison-${kind}`);
      bad[kind] = await q.put({ k: `bad-${kind}` });
      await admin.hset(`asyncq:{poison-${kind}}:${bad[kind]}`, field, value);
      good[kind] = Array.from({ length: 10 }, (_, i) => `good-${kind}-${i}`);
      for (const k of good[kind]!) await q.put({ k, ms: 10 });
    }
    const workers = Object.fromEntries(poisons.map(([kind]) => [kind, startCli(['worker', handlers, '-q', `poison-${kind}`, '-c', '2'], { env: wenv, label: `worker poison-${kind}` })]));
    const state = async (kind: string): Promise<string> => {
      const base = `asyncq:{poison-${kind}}:`;
      const [failed, completed] = await Promise.all([admin.zscore(`${base}failed`, bad[kind]!), admin.zscore(`${base}completed`, bad[kind]!)]);
      return failed !== null ? 'failed' : completed !== null ? 'completed' : 'not finished';
    };
    const poisoned: Record<string, { task: string; reason: string | null; goodLeft: number; workerAlive: boolean; problems: string[] }> = {};
    const look = async (): Promise<void> => {
      for (const [kind] of poisons) {
        poisoned[kind] = {
          task: await state(kind),
          reason: await admin.hget(`asyncq:{poison-${kind}}:${bad[kind]}`, 'failedReason'),
          goodLeft: unfinishedKeys(readLedger(dir), good[kind]!).length,
          workerAlive: workers[kind]!.alive,
          problems: outputProblems(workers[kind]!.output),
        };
      }
    };
    for (let i = 0; i < 28; i++) {
      await look();
      if (Object.values(poisoned).every((p) => p.task !== 'not finished' && p.goodLeft === 0)) break;
      await sleep(250);
    }

    // A wrong-typed key in one queue: every command that reads it says so in one line; stats of all queues still works.
    const wrong = queue('wrongtype');
    await wrong.put({ k: 'w' });
    await admin.del('asyncq:{wrongtype}:wait');
    await admin.set('asyncq:{wrongtype}:wait', 'oops');
    const putWrong = await runCli(['put', 'wrongtype', '{}'], { env });
    const statsAll = await runCli(['stats'], { env });
    const statsWrong = await runCli(['stats', 'wrongtype'], { env });
    const wrongWorker = startCli(['worker', handlers, '-q', 'wrongtype'], { env: wenv, label: 'wrongtype worker' });
    const wrongWorkerSettled = sleep(3000); // long enough to start, hit the key, and crash or not

    // A corrupt worker-registry entry, next to a live worker of that queue.
    const regWorker = startCli(['worker', handlers, '-q', 'registry', '--heartbeat', '300'], { env: wenv, label: 'registry worker' });
    await queue('registry').put({ k: 'reg-0' });
    await regWorker.waitFor(/runs registry/).catch(() => {});
    await admin.hset('asyncq:{registry}:aq:workers', 'bogus', 'not json');
    await admin.zadd('asyncq:{registry}:aq:heartbeats', Date.now() + 600_000, 'bogus');
    const statsRegistry = await runCli(['stats', 'registry'], { env });
    await queue('registry').put({ k: 'reg-1' });
    await Promise.all([sleep(1500), wrongWorkerSettled]); // heartbeats over the corrupt entry, and reg-1 to run
    const clean = (r: CliRun): boolean => outputProblems(r.stdout + r.stderr).length === 0 && (r.code === 0 || linesOf(r.stderr).length === 1);

    const results = {
      poisoned,
      putIntoWrongTypedWait: { code: putWrong.code, clean: clean(putWrong), err: putWrong.stderr.trim().slice(0, 160) },
      statsAllWithWrongTypedKey: { code: statsAll.code, listsOthers: statsAll.stdout.includes('poison-data'), err: statsAll.stderr.trim().slice(0, 160) },
      statsOfWrongTypedQueue: { code: statsWrong.code, clean: clean(statsWrong), err: statsWrong.stderr.trim().slice(0, 160) },
      wrongTypedWorker: { alive: wrongWorker.alive, exit: wrongWorker.exit?.code, stderrLines: linesOf(wrongWorker.stderr).length, problems: outputProblems(wrongWorker.output) },
      statsWithCorruptRegistry: { code: statsRegistry.code, clean: clean(statsRegistry), err: statsRegistry.stderr.trim().slice(0, 160) },
      registryWorker: { alive: regWorker.alive, ranAfterCorruption: unfinishedKeys(readLedger(dir), ['reg-1']).length === 0, problems: outputProblems(regWorker.output) },
    };
    console.log(`[chaos] bad-input-garbage: ${JSON.stringify(results)}`);

    expect.soft(poisoned.data, 'a job whose data is not JSON').toMatchObject({ task: 'failed', goodLeft: 0, workerAlive: true, problems: [] });
    expect.soft(poisoned.data?.reason ?? '', 'its dead letter says why').not.toBe('');
    expect.soft(poisoned.opts, 'a job whose opts are garbage').toMatchObject({ task: 'failed', goodLeft: 0, workerAlive: true, problems: [] });
    expect.soft(poisoned.opts?.reason ?? '', 'its dead letter says why').not.toBe('');
    expect.soft(poisoned.timestamp, 'a job with timestamp=abc runs or fails, alone').toMatchObject({ goodLeft: 0, workerAlive: true, problems: [] });
    expect.soft(['completed', 'failed'], 'the timestamp=abc job is finished').toContain(poisoned.timestamp?.task);
    expect.soft(results.putIntoWrongTypedWait, 'asyncq put into a queue whose wait key is a string').toMatchObject({ code: 1, clean: true });
    expect.soft(results.statsAllWithWrongTypedKey, 'asyncq stats over every queue with one wrong-typed key').toMatchObject({ code: 0, listsOthers: true });
    expect.soft(results.statsOfWrongTypedQueue.clean, 'asyncq stats of that queue: one clear line').toBe(true);
    expect.soft(results.wrongTypedWorker.problems, 'a worker on that queue prints nothing raw').toEqual([]);
    expect.soft(results.wrongTypedWorker.alive || results.wrongTypedWorker.stderrLines === 1, 'it runs on or stops with one line').toBe(true);
    expect.soft(results.statsWithCorruptRegistry.clean, 'asyncq stats with a corrupt registry entry').toBe(true);
    expect.soft(results.registryWorker, 'the worker next to a corrupt registry entry').toEqual({ alive: true, ranAfterCorruption: true, problems: [] });
  });

  it('hostile handler values fail only their own task; the worker lives on', { timeout: 90_000 }, async () => {
    const kinds = ['throwProxy', 'returnToJsonThrows', 'throwToJsonThrows', 'throwMessageGetter', 'unhandledRejection', 'throwInTimer'];
    const admin = redis.client();
    const ids: Record<string, string> = {};
    for (const kind of kinds) {
      const q = queue(`hostile-${kind}`);
      ids[kind] = await q.put({}, { name: kind });
      for (let i = 0; i < 5; i++) await q.put({ i }, { name: 'ok' });
    }
    const workers = Object.fromEntries(kinds.map((kind) => [kind, startCli(['worker', `${FIXTURES}hostile-handlers.mjs`, '-q', `hostile-${kind}`], { env, label: `worker ${kind}` })]));
    const result = async (kind: string): Promise<{ hostileTask: string; okCompleted: number; workerAlive: boolean; problems: string[] }> => {
      const base = `asyncq:{hostile-${kind}}:`;
      const [failed, completed, done] = await Promise.all([admin.zscore(`${base}failed`, ids[kind]!), admin.zscore(`${base}completed`, ids[kind]!), admin.zcard(`${base}completed`)]);
      const hostileTask = failed !== null ? 'failed' : completed !== null ? 'completed' : 'not finished';
      return { hostileTask, okCompleted: done - (completed !== null ? 1 : 0), workerAlive: workers[kind]!.alive, problems: outputProblems(workers[kind]!.output) };
    };
    const results: Record<string, Awaited<ReturnType<typeof result>>> = {};
    for (let i = 0; i < 40; i++) {
      for (const kind of kinds) results[kind] = await result(kind);
      if (kinds.every((k) => results[k]!.okCompleted === 5 && results[k]!.hostileTask !== 'not finished')) break;
      await sleep(250);
    }
    await sleep(500);
    for (const kind of kinds) results[kind] = await result(kind);
    console.log(`[chaos] bad-input-hostile: ${JSON.stringify(results)}`);
    for (const kind of kinds) {
      expect.soft(results[kind], `${kind}: ${workers[kind]!.output.slice(-300)}`).toEqual({ hostileTask: 'failed', okCompleted: 5, workerAlive: true, problems: [] });
    }
  });

  it('fleet and demo children never carry the Redis password in their argv', { timeout: 90_000 }, async () => {
    const password = 'chaos-s3cret';
    const secured = await RedisServer.start({ password });
    const dir = ledgerDir('secrets');
    const secEnv = { REDIS_URL: secured.url, CHAOS_LEDGER_DIR: dir };
    const fleet = startCli(['fleet', `${FIXTURES}ledger-handlers.mjs`, '-q', 'secrets', '-w', '2'], { env: secEnv, label: 'fleet' });
    await fleet.waitFor(/serves secrets/);
    let fleetChildren: string[][] = [];
    for (let i = 0; i < 100 && fleetChildren.length < 2; i++) {
      fleetChildren = fleet.children().map((p) => argvOf(p) ?? []).filter((a) => a.length > 0);
      await sleep(100);
    }
    const demo = startCli(['demo', '--tasks', '20', '--workers', '1'], { env: { REDIS_URL: secured.url }, label: 'demo' });
    const demoArgv: string[][] = [];
    while (demo.alive && demoArgv.length < 50) {
      for (const p of demo.descendants()) {
        const a = argvOf(p);
        if (a && !demoArgv.some((x) => x.join(' ') === a.join(' '))) demoArgv.push(a);
      }
      await sleep(50);
    }
    const demoExit = await demo.exitWithin(60_000);
    const leaks = (argvs: string[][]): string[] => argvs.map((a) => a.join(' ')).filter((a) => a.includes(password)).map((a) => a.replace(password, '<PASSWORD>'));
    console.log(`[chaos] bad-input-secrets: fleetChildren=${fleetChildren.length} fleetLeaks=${leaks(fleetChildren).length} demoChildren=${demoArgv.length} demoLeaks=${leaks(demoArgv).length} demoExit=${demoExit?.code}`);
    expect.soft(fleetChildren.length, 'the fleet started its workers').toBe(2);
    expect.soft(leaks(fleetChildren), 'asyncq fleet children argv').toEqual([]);
    expect.soft(demoArgv.length, 'the demo started children').toBeGreaterThan(0);
    expect.soft(leaks(demoArgv), 'asyncq demo children argv').toEqual([]);
    expect.soft(demo.output.includes(password) || fleet.output.includes(password), 'the password in output').toBe(false);
    expect.soft(demoExit?.code, demo.output.slice(-300)).toBe(0);
  });

  // Round two (issue 18): secrets in malformed connection strings, names, bounds, handler modules.

  it('a password in a malformed connection string never reaches output, errors or argv, through every way the CLI is told where Redis is', { timeout: 300_000 }, async () => {
    const closed = await freePort();
    const urls = malformedUrls(18, 8, closed);
    const h = `${FIXTURES}ledger-handlers.mjs`;
    type Way = [string, (u: string) => { args: string[]; env: Record<string, string> }];
    const ways: Way[] = [
      ['--redis-url', (u) => ({ args: ['stats', '--redis-url', u], env: {} })],
      ['REDIS_URL', (u) => ({ args: ['stats'], env: { REDIS_URL: u } })],
      ['ASYNCQ_REDIS_URL', (u) => ({ args: ['put', 'q', '{}'], env: { ASYNCQ_REDIS_URL: u } })],
      ['--redis-cluster', (u) => ({ args: ['stats', '--redis-cluster', u], env: {} })],
      ['--redis-sentinels', (u) => ({ args: ['stats', '--redis-sentinels', u, '--redis-master', 'm'], env: {} })],
      ['fleet, REDIS_URL', (u) => ({ args: ['fleet', h, '-q', 'secrets', '-w', '1'], env: { REDIS_URL: u } })],
      ['dashboard, REDIS_URL', (u) => ({ args: ['dashboard', '--port', '0'], env: { REDIS_URL: u } })],
    ];
    const seen: string[] = [];
    const shapes: Record<string, string> = {};
    for (const [way, make] of ways) {
      const runs = await Promise.all(urls.map((u) => runCli(make(u).args, { env: make(u).env, timeoutMs: 30_000 })));
      for (const [i, r] of runs.entries()) {
        const out = r.stdout + r.stderr;
        if (leaks(out)) seen.push(`${way} ${JSON.stringify(urls[i])}: ${out.slice(0, 200)}`);
        if (r.timedOut || r.code === 0 || linesOf(r.stderr).length !== 1 || outputProblems(out).length > 0) seen.push(`${way} ${JSON.stringify(urls[i])}: not one line and exit 1: ${out.slice(0, 200)}`);
      }
      shapes[way.replace(/\W+/g, '_')] = `${runs.filter((r) => r.code === 1).length}/${runs.length}`;
    }
    // A well-formed URL holding the marker: the fleet's children and the dashboard get it in their
    // environment, never argv, and print it nowhere.
    const secured = await RedisServer.start({ password: MARKER });
    const secEnv = { REDIS_URL: secured.url, CHAOS_LEDGER_DIR: ledgerDir('secrets-2') };
    const fleet = startCli(['fleet', h, '-q', 'secrets', '-w', '2'], { env: secEnv, label: 'fleet' });
    const dashboard = startCli(['dashboard', '--port', '0'], { env: secEnv, label: 'dashboard' });
    await fleet.waitFor(/serves secrets/);
    await dashboard.waitFor(/asyncq dashboard on http/, 30_000);
    let argvs: string[][] = [];
    for (let i = 0; i < 100 && argvs.length < 2; i++) {
      argvs = fleet.children().map((p) => argvOf(p) ?? []).filter((a) => a.length > 0 && a.includes('fleet-worker'));
      await sleep(100);
    }
    argvs.push(argvOf(fleet.pid) ?? [], argvOf(dashboard.pid) ?? []);
    report('bad-input-secrets-malformed', { strings: urls.length, ways: ways.length, ...shapes, leaks: seen.length, argvLeaks: argvs.filter((a) => leaks(a.join(' '))).length });
    expect(seen).toEqual([]);
    expect(argvs.length, 'fleet workers, the fleet and the dashboard').toBe(4);
    expect(argvs.filter((a) => leaks(a.join(' ')))).toEqual([]);
    expect(leaks(fleet.output) || leaks(dashboard.output)).toBe(false);
  });

  it('names: ".." refused, bidi and zero-width characters escaped, hints shell-quoted, a 1 MiB name cut in its error', { timeout: 120_000 }, async () => {
    const dots = await Promise.all(['.', '..'].map((n) => runCli(['put', n, '{}'], { env })));
    const bidi = 'pay\u202Eevil\u200B';
    await queue(bidi).put({ k: 1 });
    const stats = await runCli(['stats', bidi], { env });
    const fleet = startCli(['fleet', `${FIXTURES}ledger-handlers.mjs`, '-q', 'a;id|x&$(id)', '-w', '0'], { env: { ...env, CHAOS_LEDGER_DIR: ledgerDir('hint') } });
    await fleet.waitFor(/changes its size live/);
    const serves = fleet.output.split('\n').find((l) => l.includes('changes its size live')) ?? '';
    const pause = await runCli(['pause', bidi], { env });
    let long = '';
    try {
      new Queue('x'.repeat(1 << 20), { connection: redis.url });
    } catch (e) {
      long = (e as Error).message;
    }
    const results = {
      dots: dots.map(mistake),
      bidiInStats: { code: stats.code, raw: /[\u202E\u200B]/.test(stats.stdout), escaped: stats.stdout.includes('\\u{202e}') },
      fleetHint: serves.replace(/^fleet \S+ /, ''),
      pauseHint: { raw: /[\u202E\u200B]/.test(pause.stdout), line: pause.stdout.trim() },
      longNameMessageChars: long.length,
    };
    report('bad-input-names-2', { dots: results.dots.map((d) => String(d.code)).join(','), bidiRaw: results.bidiInStats.raw, longNameMessageChars: long.length });
    expect(results.dots).toEqual([{ code: 1, lines: 1, problems: [], timedOut: false }, { code: 1, lines: 1, problems: [], timedOut: false }]);
    expect(dots[1]!.stderr).toMatch(/invalid queue name "\.\.": .* and not '\.' or '\.\.'/);
    expect(results.bidiInStats).toEqual({ code: 0, raw: false, escaped: true });
    expect(results.fleetHint).toBe("serves a;id|x&$(id); asyncq scale 'a;id|x&$(id)' <n> changes its size live");
    expect(results.pauseHint.raw).toBe(false);
    expect(results.pauseHint.line).toContain("asyncq resume 'pay\\u{202e}evil\\u{200b}' resumes");
    expect(long.length).toBeGreaterThan(0);
    expect(long.length).toBeLessThan(400);
  });

  it('bounds: fleet sizes and concurrency, nesting depth, ports and addresses, conflicting flags, an empty item: one line each; inspect survives any depth', { timeout: 180_000 }, async () => {
    const h = `${FIXTURES}ledger-handlers.mjs`;
    const deep = (n: number): string => `${'['.repeat(n)}1${']'.repeat(n)}`;
    const cases: [string, string[], RegExp][] = [
      ['fleet -w 100000', ['fleet', h, '-q', 'bounds', '-w', '100000'], /--workers must be a whole number from 0 to 10000|over the fleet's cap/],
      ['fleet -w 300', ['fleet', h, '-q', 'bounds', '-w', '300'], /--workers 300 is over the fleet's cap of 256 workers: .* --max-workers 300/],
      ['fleet -c 1000000000', ['fleet', h, '-q', 'bounds', '-c', '1000000000'], /--concurrency must be a whole number from 1 to 10000, got "1000000000"/],
      ['fleet --metrics-host', ['fleet', h, '-q', 'bounds', '--metrics-port-base', '20000', '--metrics-host', 'no-such-host.invalid'], /--metrics-host "no-such-host.invalid": no such host name/],
      ['worker --metrics-host', ['worker', h, '-q', 'bounds', '--metrics-port', '0', '--metrics-host', 'no-such-host.invalid'], /cannot listen on "no-such-host.invalid": no such host name; .*--metrics-host/],
      ['metrics --port 70000', ['metrics', '--port', '70000'], /--port must be a whole number from 0 to 65535, got "70000"/],
      ['dashboard --port 70000', ['dashboard', '--port', '70000'], /--port must be a whole number from 0 to 65535, got "70000"/],
      ['inspect --failed --state completed', ['inspect', 'bounds', '--failed', '--state', 'completed'], /--failed lists the failed tasks and --state "completed" another state/],
      ['put q - --file x', ['put', 'bounds', '-', '--file', 'x.ndjson'], /asyncq put takes its items one way, got - \(stdin\) and --file "x.ndjson"/],
      ["put q ''", ['put', 'bounds', ''], /the item is empty/],
      ['put 5,000 deep', ['put', 'bounds', deep(5000)], /nested more than 1000 levels deep, which asyncq refuses/],
    ];
    const benv = { ...env, CHAOS_LEDGER_DIR: ledgerDir('bounds') };
    const runs = await Promise.all(cases.map(([, args]) => runCli(args, { env: benv, timeoutMs: 30_000 })));
    const results = Object.fromEntries(cases.map(([what], i) => [what, { ...mistake(runs[i]!), says: cases[i]![2].test(runs[i]!.stderr) }]));
    // Data nested 10,000 deep, written straight to Redis: the listing shows the other tasks.
    const q = queue('deep-stored');
    const id = await q.put({ k: 'deep' });
    await q.put({ k: 'plain' });
    await redis.client().hset(`asyncq:{deep-stored}:${id}`, 'data', deep(10_000));
    const [inspect, inspectJson] = await Promise.all([runCli(['inspect', 'deep-stored'], { env }), runCli(['inspect', 'deep-stored', '--json'], { env })]);
    const inspectResult = {
      code: inspect.code,
      listsPlain: inspect.stdout.includes('{"k":"plain"}'),
      notes: inspect.stdout.includes('(nested too deeply to show)'),
      jsonCode: inspectJson.code,
      jsonParses: (() => {
        try {
          return (JSON.parse(inspectJson.stdout) as unknown[]).length;
        } catch {
          return -1;
        }
      })(),
      problems: outputProblems(inspect.stdout + inspect.stderr + inspectJson.stderr),
    };
    report('bad-input-bounds', { ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k.replace(/\W+/g, '_'), `${v.code}/${v.lines}`])), inspectDeep: inspectResult.code ?? undefined });
    for (const [what] of cases) expect.soft(results[what], what).toEqual({ code: 1, lines: 1, problems: [], timedOut: false, says: true });
    expect.soft(inspectResult).toEqual({ code: 0, listsPlain: true, notes: true, jsonCode: 0, jsonParses: 2, problems: [] });
  });

  it('handler modules that never finish loading, throw null or call process.exit are one line from worker and fleet, and never end the fleet silently', { timeout: 120_000 }, async () => {
    const modules = ['never-loads.mjs', 'throws-null.mjs', 'exits-at-import.mjs'];
    const says: Record<string, RegExp> = {
      'never-loads.mjs': /never-loads\.mjs never finishes loading: a top-level await waits on a promise that nothing will ever settle/,
      'throws-null.mjs': /throws-null\.mjs failed to load: it threw null, not an Error/,
      'exits-at-import.mjs': /exits-at-import\.mjs called process\.exit\(3\) while loading/,
    };
    const runs = await Promise.all(
      modules.flatMap((m) => [
        runCli(['worker', `${HANDLER_FIXTURES}${m}`, '-q', 'modules'], { env, timeoutMs: 20_000 }),
        runCli(['fleet', `${HANDLER_FIXTURES}${m}`, '-q', 'modules'], { env, timeoutMs: 20_000 }),
      ]),
    );
    const results: Record<string, unknown> = {};
    for (const [i, m] of modules.entries()) {
      for (const [j, cmd] of ['worker', 'fleet'].entries()) {
        const r = runs[i * 2 + j]!;
        results[`${cmd} ${m}`] = { ...mistake(r), says: says[m]!.test(r.stderr), ms: r.ms < 15_000 };
      }
    }
    report('bad-input-handler-modules', Object.fromEntries(Object.entries(results).map(([k, v]) => [k.replace(/\W+/g, '_'), String((v as { code: number | null }).code)])));
    for (const [what, r] of Object.entries(results)) expect.soft(r, what).toEqual({ code: 1, lines: 1, problems: [], timedOut: false, says: true, ms: true });
  });
});
