import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '@asyncq/core/internal';
import { report, secs } from './harness/figures.js';
import { ledgerDir, readLedger } from './harness/ledger.js';
import { linesOf, outputProblems } from './harness/output-hygiene.js';
import { freePort, RedisServer, sleep } from '@asyncq/test-support';
import { argvOf, FIXTURES, runCli, startCli, startNode, type ChaosProcess } from './harness/processes.js';

// Scenario 3 (issue 10): a 10 s Redis outage, as a freeze (SIGSTOP/SIGCONT: connections stay open,
// nothing answers) and as a crash followed by a restart with an EMPTY data dir (the data is gone).
// Guarantee: every process resumes, or reports the loss in one clear line; none dies or hangs; a
// joiner whose queue's data was lost is told so, never released as if the work were done.
const OUTAGE_MS = 10_000;
const BACKLOG = 1500;
const TASK_MS = 200;

interface Scrape {
  at: number;
  ms: number;
  status: number | string;
  body: string;
}

async function scrape(url: string): Promise<Scrape> {
  const t0 = Date.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { at: t0, ms: Date.now() - t0, status: res.status, body: await res.text() };
  } catch (e) {
    return { at: t0, ms: Date.now() - t0, status: (e as Error).name, body: '' };
  }
}

async function outage(mode: 'freeze' | 'empty-restart'): Promise<void> {
  const redis = await RedisServer.start();
  const dir = ledgerDir(`outage-${mode}`);
  const name = `outage-${mode}`;
  const env = { REDIS_URL: redis.url, CHAOS_LEDGER_DIR: dir };
  const port = await freePort();

  const fleet = startCli(['fleet', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-w', '2', '-c', '8'], { env, label: 'fleet' });
  await fleet.waitFor(new RegExp(`serves ${name}`));
  const producer = startNode('producer.mjs', [], {
    label: 'producer',
    env: { CHAOS: JSON.stringify({ url: redis.url, queue: name, name: 'p', count: 100_000, ms: 1, ackDir: dir, pauseMs: 50 }) },
  });
  for (let i = 0; i < 200 && readLedger(dir).acks.size === 0; i++) await sleep(50); // the queue exists once a task was put
  const watch = startCli(['watch', name, '--json', '--interval', '500'], { env, label: 'watch' });
  const metrics = startCli(['metrics', '--port', String(port), '--queue', name], { env, label: 'metrics' });
  await Promise.all([watch.waitFor(/"queue"/), metrics.waitFor(/metrics on/)]);
  // The backlog last, right before the outage, so that the joiner waits across it: ~19 s of work on 16 slots.
  const file = join(dir, 'backlog.ndjson');
  writeFileSync(file, Array.from({ length: BACKLOG }, (_, i) => JSON.stringify({ k: `b${i}`, ms: TASK_MS })).join('\n') + '\n');
  const put = await runCli(['put', name, '--file', file], { env, timeoutMs: 30_000 });
  expect(put.code, put.stderr).toBe(0);
  const joiner = startCli(['join', name], { env, label: 'join' });
  const workersBefore = fleet.children().filter((p) => argvOf(p)?.some((a) => a === 'worker' || a === 'fleet-worker')).sort();
  // The joiner must be waiting before Redis goes away: it announces itself in Redis once it counts.
  const raw = new Redis(redis.url);
  for (let i = 0; i < 300 && (await raw.exists(queueKeys('asyncq', name).wantJoin)) === 0; i++) await sleep(50);
  raw.disconnect();
  await sleep(1000);

  // The outage, with the exporter scraped every second throughout.
  const scrapes: Scrape[] = [];
  let scraping = true;
  const healthDuring: Scrape[] = [];
  const scraper = (async () => {
    while (scraping) {
      const [m, h] = await Promise.all([scrape(`http://127.0.0.1:${port}/metrics`), scrape(`http://127.0.0.1:${port}/healthz`)]);
      scrapes.push(m);
      healthDuring.push(h);
      await sleep(1000);
    }
  })();
  const watchLinesBefore = linesOf(watch.stdout).length;
  const downAt = Date.now();
  if (mode === 'freeze') redis.freeze();
  else await redis.kill();
  await sleep(OUTAGE_MS);
  if (mode === 'freeze') redis.thaw();
  else await redis.restart({ emptyDir: true });
  const upAt = Date.now();

  // Recovery: up to 45 s for the joiner (the freeze leaves ~15 s of backlog); the others get at least 10 s.
  const joined = await joiner.exitWithin(45_000);
  await sleep(Math.max(2000, upAt + 10_000 - Date.now()));
  scraping = false;
  await scraper;
  const after = await scrape(`http://127.0.0.1:${port}/metrics`);
  const health = await scrape(`http://127.0.0.1:${port}/healthz`);
  const view = readLedger(dir);
  const acksAfter = [...view.acks.values()].filter((t) => t > upAt).sort((a, b) => a - b);
  const runsAfter = [...view.byKey.values()].flat().filter((e) => e.start > upAt).sort((a, b) => a.start - b.start);
  const watchJsonAfter = linesOf(watch.stdout).slice(watchLinesBefore).filter((l) => l.startsWith('{'));
  const workersAfter = fleet.children().filter((p) => argvOf(p)?.some((a) => a === 'worker' || a === 'fleet-worker')).sort();
  const workerExits = [...fleet.stderr.matchAll(/a worker (was killed by \S+|exited with code \S+)/g)].map((m) => m[1]);
  const duringOutage = scrapes.filter((s) => s.at >= downAt && s.at < upAt);
  const hung = [...scrapes, ...healthDuring].filter((s) => s.status === 'TimeoutError' || s.ms >= 5000);
  // Probes answered while Redis was away (one sent just before it came back may be answered after).
  const healthzDuringOutage = healthDuring.filter((s) => s.at >= downAt + 1000 && s.at + s.ms < upAt).map((s) => s.status);

  // Every long-running process is asked to stop, and must stop cleanly.
  const stopping: ChaosProcess[] = [fleet, watch, metrics].filter((p) => p.alive);
  for (const p of stopping) p.signal('SIGTERM');
  producer.signal('SIGTERM');
  const exits = await Promise.all(stopping.map((p) => p.exitWithin(20_000)));

  report(`redis-outage-${mode}`, {
    outage: secs(upAt - downAt),
    joinerExit: joined ? String(joined.code) : 'still waiting',
    joinerAfterUp: secs(joined ? joined.at - upAt : undefined),
    producerResumesIn: secs(acksAfter[0] === undefined ? undefined : acksAfter[0] - upAt),
    workersResumeIn: secs(runsAfter[0] === undefined ? undefined : runsAfter[0].start - upAt),
    watchLinesAfter: watchJsonAfter.length,
    scrapesDuringOutage: duringOutage.map((s) => `${s.status}/${s.ms}ms`).join(','),
    healthzDuringOutage: healthzDuringOutage.join(','),
    scrapeAfter: after.status,
    healthzAfter: health.status,
    workerExits: workerExits.length,
  });

  const problems = [fleet, joiner, watch, metrics, producer].flatMap((p) => outputProblems(p.output).map((x) => `${p.label}: ${x}`));
  expect.soft(problems, 'no stack traces, "unexpected error" or raw ioredis errors in any output').toEqual([]);
  expect.soft(joined === undefined || joined.at > upAt, `the joiner ended during the outage instead of waiting it out: ${joiner.output.slice(-300)}`).toBe(true);
  expect.soft(workerExits, `worker processes died during the outage; fleet log: ${fleet.stderr.slice(-600)}`).toEqual([]);
  expect.soft(workersAfter, 'the same worker processes run after the outage').toEqual(workersBefore);
  expect.soft(hung.map((s) => `${s.status} after ${s.ms} ms`), 'a /metrics or /healthz scrape hung (5 s limit)').toEqual([]);
  expect.soft(healthzDuringOutage.length > 0 && healthzDuringOutage.every((s) => s !== 200), `the exporter's /healthz fails while Redis is unreachable: ${healthzDuringOutage.join(',')}`).toBe(true);
  expect.soft(after.status, `/metrics after the outage: ${after.body.slice(0, 200)}`).toBe(200);
  expect.soft(health.status, '/healthz of the exporter after the outage').toBe(200);
  expect.soft(acksAfter.length, `the producer put nothing after Redis came back; its stderr: ${producer.stderr.slice(-400)}`).toBeGreaterThan(0);
  expect.soft(runsAfter.length, 'the fleet ran nothing after Redis came back').toBeGreaterThan(0);
  expect.soft(exits.map((e, i) => `${stopping[i]!.label}:${e ? (e.code ?? e.signal) : 'hung'}`), 'SIGTERM stops fleet, watch and metrics cleanly').toEqual(
    stopping.map((p) => `${p.label}:0`),
  );
  if (mode === 'freeze') {
    expect.soft(joined?.code, `after a freeze the joiner resolves once the backlog is done; output: ${joiner.output.slice(-400)}`).toBe(0);
    expect.soft(watchJsonAfter.length, 'watch --json printed nothing after the freeze').toBeGreaterThan(0);
  } else {
    // The data is gone: the joiner must say so in one line and exit non-zero, not report success at 0.
    expect.soft(joined, 'the joiner still waits 45 s after the empty restart').toBeDefined();
    expect.soft(joined?.code, `the joiner exited ${joined?.code} after its queue's data was lost; stdout: ${joiner.stdout.slice(-300)}`).not.toBe(0);
    // Its stderr: the outage notices `asyncq join` prints while it waits (Redis gone, Redis back),
    // then one line, the last, naming the loss.
    const joinerLines = linesOf(joiner.stderr);
    const outageNotices = joinerLines.slice(0, -1).filter((l) => !/cannot reach Redis at .*still waiting|answers again; still waiting/.test(l));
    expect.soft(outageNotices, `the joiner's lines before the last are only outage notices: ${joiner.stderr.slice(-600)}`).toEqual([]);
    expect.soft(joinerLines.at(-1), 'the joiner names the loss in its last line').toMatch(/QUEUE_DATA_LOST|data (was|were|is) lost|lost (its|the) data/i);
    expect.soft(joinerLines.filter((l) => /lost/i.test(l) && !/still waiting/.test(l)), 'the loss is said once').toHaveLength(1);
    // watch either goes on (printing the new, empty queue) or stops with one clear line.
    const watchOk = watchJsonAfter.length > 0 || (watch.exit !== undefined && linesOf(watch.stderr).length === 1);
    expect.soft(watchOk, `watch --json after the empty restart: stdout ${watch.stdout.slice(-200)} stderr ${watch.stderr.slice(-300)}`).toBe(true);
  }
}

describe('a 10 s Redis outage', () => {
  it('freeze (SIGSTOP 10 s, SIGCONT): everything resumes, nothing hangs', { timeout: 150_000 }, async () => {
    await outage('freeze');
  });

  it('crash and restart with an empty data dir: everything resumes or reports the loss in one line', { timeout: 150_000 }, async () => {
    await outage('empty-restart');
  });
});
