import { describe, expect, it } from 'vitest';
import { report, secs } from './harness/figures.js';
import { ledgerDir, readLedger, unfinishedKeys } from './harness/ledger.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { runCli, startNode, type ChaosProcess } from './harness/processes.js';

// Scenario 4 (issue 10): producers in several processes put into a bounded queue (maxsize 50) while
// producers and workers are SIGKILLed and restarted. Guarantee: the ready count never exceeds
// maxsize, nothing acknowledged is lost, join resolves.
const MAXSIZE = 50;
const PRODUCERS = 3;
const PER_PRODUCER = 700;
const TASK_MS = 100;
/** Short leases so a killed worker's tasks come back within this scenario (both today's and the reworked option names). */
const WORKER_OPTIONS = { lease: 2000, stalledInterval: 1000 };

/** Ready tasks right now, read atomically: LLEN wait + ZCARD prioritized + LLEN paused + ZCARD delayed. */
const READY_LUA = `return redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + redis.call('LLEN', KEYS[3]) + redis.call('ZCARD', KEYS[4])`;

describe('maxsize under producer and worker kills', () => {
  it('never holds more than maxsize ready tasks, loses no put, and join resolves', { timeout: 200_000 }, async () => {
    const redis = await RedisServer.start();
    const dir = ledgerDir('maxsize');
    const name = 'bounded';
    const admin = redis.client();
    const base = `asyncq:{${name}}:`;
    const producerConfig = (i: number): Record<string, string> => ({
      CHAOS: JSON.stringify({ url: redis.url, queue: name, name: `p${i}`, count: PER_PRODUCER, ms: TASK_MS, ackDir: dir, maxsize: MAXSIZE }),
    });
    const workerConfig = { CHAOS: JSON.stringify({ url: redis.url, queue: name, concurrency: 8, options: WORKER_OPTIONS }), CHAOS_LEDGER_DIR: dir };
    const producers: ChaosProcess[] = Array.from({ length: PRODUCERS }, (_, i) => startNode('producer.mjs', [], { label: `producer p${i}`, env: producerConfig(i) }));
    const workers: ChaosProcess[] = [0, 1].map((i) => startNode('worker.mjs', [], { label: `worker ${i}`, env: workerConfig }));
    await Promise.all(workers.map((w) => w.waitFor(/started/)));

    // Sample the ready count every few ms until everything is done.
    const samples: number[] = [];
    let over: { at: number; ready: number }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          const ready = Number(await admin.eval(READY_LUA, 4, `${base}wait`, `${base}prioritized`, `${base}paused`, `${base}delayed`));
          samples.push(ready);
          if (ready > MAXSIZE) over.push({ at: Date.now(), ready });
        } catch {
          // a sample lost to a hiccup; the next one counts
        }
        await sleep(5);
      }
    })();

    // The kills: a producer, then a worker, alternating; each restarted a second later.
    const t0 = Date.now();
    const kills: string[] = [];
    const schedule: ['producer' | 'worker', number][] = [['producer', 0], ['worker', 0], ['producer', 1], ['worker', 1], ['producer', 2], ['worker', 0]];
    for (const [kind, i] of schedule) {
      await sleep(2000);
      const list = kind === 'producer' ? producers : workers;
      if (!list[i]!.alive) continue; // a producer that already finished its share
      list[i]!.signal('SIGKILL');
      await list[i]!.exited;
      kills.push(`${kind}${i}`);
      await sleep(1000);
      list[i] = kind === 'producer'
        ? startNode('producer.mjs', [], { label: `producer p${i} (restarted)`, env: producerConfig(i) })
        : startNode('worker.mjs', [], { label: `worker ${i} (restarted)`, env: workerConfig });
    }
    const producerExits = await Promise.all(producers.map((p) => p.exitWithin(120_000)));
    const join = await runCli(['join', name, '--timeout', '60'], { env: { REDIS_URL: redis.url }, timeoutMs: 70_000 });
    sampling = false;
    await sampler;

    const view = readLedger(dir);
    const acked = [...view.acks.keys()];
    const lost = unfinishedKeys(view, acked);
    const max = Math.max(0, ...samples);
    report('maxsize-kills', {
      maxsize: MAXSIZE,
      maxReady: max,
      samples: samples.length,
      samplesOver: over.length,
      kills: kills.join(','),
      acked: acked.length,
      lost: lost.length,
      joinExit: String(join.code),
      run: secs(Date.now() - t0),
    });

    expect.soft(max, `ready count reached ${max} > maxsize ${MAXSIZE} in ${over.length} of ${samples.length} samples (first at +${over[0] ? secs(over[0].at - t0) : '-'})`).toBeLessThanOrEqual(MAXSIZE);
    expect.soft(samples.length, 'the sampler saw the queue').toBeGreaterThan(100);
    expect.soft(acked.length, 'every producer acknowledged its whole share').toBe(PRODUCERS * PER_PRODUCER);
    expect.soft(producerExits.map((e) => e?.code), producers.map((p) => p.stderr.slice(-300)).join(' | ')).toEqual(producers.map(() => 0));
    expect.soft(lost.slice(0, 10), `${lost.length} acknowledged puts never executed`).toEqual([]);
    expect.soft(join.code, `join: ${join.stdout.slice(-300)} ${join.stderr.slice(-300)}`).toBe(0);
    over = [];
  });
});
