import { describe, expect, it } from 'vitest';
import { Queue, QueueAdmin, WorkerRegistry } from '@asyncq/core';
import { eventually, freePort, RedisServer, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';
import { startCli } from './cli-process.js';
import { get, HANDLERS, oneLine, queue, valueOf } from './cli-test-helpers.js';

describe('asyncq metrics (the exporter)', () => {
  it('serves every metric of the contract from Redis: states, counters, workers, desired, oldest waiting, a finite drain', async () => {
    const name = uniqueName('metrics');
    const q = queue(name);
    for (let i = 0; i < 3; i++) await q.put(i, { name: 'noop' });
    const delayed = await q.submit(9, { delay: 60_000, name: 'noop' });
    const exporter = startCli(['metrics', '--port', '0', '--queue', name]);
    const [, port] = await exporter.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
    let text = (await get(port!, '/metrics')).body;
    const series = (metric: string, labels = ''): number | undefined => valueOf(text, `${metric}{queue="${name}"${labels}}`);
    expect(valueOf(text, 'asyncq_up')).toBe(1);
    expect(valueOf(text, 'asyncq_scrape_errors_total')).toBe(0);
    expect(series('asyncq_queue_tasks', ',state="waiting"')).toBe(3);
    expect(series('asyncq_queue_tasks', ',state="delayed"')).toBe(1);
    expect(series('asyncq_queue_tasks', ',state="paused"')).toBe(0);
    expect(series('asyncq_queue_enqueued_total')).toBe(4);
    expect(series('asyncq_queue_completed_total')).toBe(0);
    expect(series('asyncq_queue_cancelled_total')).toBe(0);
    expect(series('asyncq_queue_tasks', ',state="cancelled"')).toBe(0);
    expect(series('asyncq_workers')).toBe(0);
    expect(series('asyncq_workers_desired')).toBeUndefined(); // only once set
    expect(series('asyncq_queue_unfinished')).toBe(4);
    expect(series('asyncq_queue_oldest_waiting_seconds')).toBeGreaterThanOrEqual(0);
    // Nothing finishes: the cap (a day), never +Inf.
    expect(series('asyncq_queue_drain_seconds')).toBe(86_400);
    expect(text).not.toContain('+Inf');
    expect(text).toMatch(/# HELP asyncq_queue_tasks .*completed, failed and cancelled: the finished tasks KEPT in Redis/);

    // Six done, one failed for good and the delayed one cancelled: the counters count them.
    expect(await delayed.cancel({ reason: 'not needed' })).toBe(true);
    const worker = startCli(['worker', HANDLERS, '-q', name, '-c', '2']);
    await q.put({}, { name: 'fail' });
    for (let i = 0; i < 3; i++) await q.put({ ms: 1 }, { name: 'sleep' });
    const scale = track(new WorkerRegistry(name, { connection: redisUrl() }), name);
    await scale.setDesired(3);
    await eventually(async () => {
      text = (await get(port!, '/metrics')).body;
      expect(series('asyncq_queue_completed_total')).toBe(6);
      expect(series('asyncq_queue_failed_total')).toBe(1);
      expect(series('asyncq_workers')).toBe(1);
    }, 15_000);
    expect(series('asyncq_queue_cancelled_total')).toBe(1);
    expect(series('asyncq_queue_tasks', ',state="cancelled"')).toBe(1);
    expect(series('asyncq_queue_tasks', ',state="delayed"')).toBe(0);
    expect(series('asyncq_workers_desired')).toBe(3);
    expect(series('asyncq_queue_enqueued_total')).toBe(8);
    worker.kill('SIGTERM');
    await worker.exited;

    // A queue that is gone leaves no series behind.
    const other = uniqueName('gone');
    const all = startCli(['metrics', '--port', '0']);
    const [, allPort] = await all.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
    const oq = track(new Queue(other, { connection: redisUrl() }), other);
    await oq.put(1);
    await eventually(async () => expect((await get(allPort!, '/metrics')).body).toContain(`asyncq_queue_unfinished{queue="${other}"} 1`), 10_000);
    const admin = track(new QueueAdmin(other, { connection: redisUrl() }), other);
    await oq.close();
    await admin.destroy({ force: true });
    const after = (await get(allPort!, '/metrics')).body;
    expect(after).not.toContain(`queue="${other}"`);
    expect(valueOf(after, 'asyncq_up')).toBe(1);

    // A partitioned queue: one queue-wide series, and one per partition beside it.
    const parted = uniqueName('parts');
    const pq = track(new Queue(parted, { connection: redisUrl(), partitions: 3 }), parted);
    for (let i = 0; i < 6; i++) await pq.put(i);
    await eventually(async () => {
      text = (await get(allPort!, '/metrics')).body;
      expect(valueOf(text, `asyncq_queue_tasks{queue="${parted}",state="waiting"}`)).toBe(6);
    }, 10_000);
    const perPartition = [0, 1, 2].map((p) => valueOf(text, `asyncq_queue_partition_tasks{queue="${parted}",partition="${p}",state="waiting"}`));
    expect(perPartition.reduce((a, b) => a! + b!, 0)).toBe(6);
    expect(text).not.toContain(`asyncq_queue_partition_tasks{queue="${name}"`);
    for (const p of [exporter, all]) {
      p.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    }
  }, 60_000);

  it('drain time stays finite and smooth when workers go away: the rate comes from the Redis counters', async () => {
    const name = uniqueName('drain');
    const q = queue(name);
    await q.putMany(Array.from({ length: 3000 }, () => ({ item: { ms: 40 }, opts: { name: 'sleep' } })));
    const worker = startCli(['worker', HANDLERS, '-q', name, '-c', '4', '--heartbeat', '1000']);
    await worker.waitFor(/runs/);
    const exporter = startCli(['metrics', '--port', '0', '--queue', name]);
    const [, port] = await exporter.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
    const drain = async (): Promise<number> => valueOf((await get(port!, '/metrics')).body, `asyncq_queue_drain_seconds{queue="${name}"}`)!;
    await sleep(3000);
    const working = await drain();
    expect(working).toBeGreaterThan(0);
    expect(working).toBeLessThan(86_400);
    worker.kill('SIGKILL');
    await worker.exited;
    await sleep(2500);
    // No worker finishes anything now: the smoothed rate decays instead of dropping to nothing.
    const gone = await drain();
    expect(gone).toBeLessThan(86_400);
    expect(gone).toBeGreaterThan(0);
    exporter.kill('SIGTERM');
    expect(await exporter.exited).toBe(0);
  }, 60_000);

  it('while Redis is stopped a scrape answers 200 in time with asyncq_up 0 and no queue series; /healthz fails, /livez does not; back when Redis is', async () => {
    const redis = await RedisServer.start({ aof: true });
    const name = uniqueName('outage');
    const q = new Queue(name, { connection: redis.url });
    await q.putMany([1, 2, 3].map((item) => ({ item })));
    await q.close();
    const exporter = startCli(['metrics', '--port', '0'], { REDIS_URL: redis.url });
    const [, port] = await exporter.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
    const up = await get(port!, '/metrics');
    expect(valueOf(up.body, 'asyncq_up')).toBe(1);
    expect(valueOf(up.body, `asyncq_queue_unfinished{queue="${name}"}`)).toBe(3);

    const down = async (): Promise<void> => {
      const scrape = await get(port!, '/metrics');
      expect(scrape.status).toBe(200);
      expect(scrape.ms).toBeLessThan(8000); // the exporter's limit is 3 s; the rest is a loaded machine
      expect(valueOf(scrape.body, 'asyncq_up')).toBe(0);
      expect(scrape.body).not.toMatch(/^asyncq_(queue|workers)\w*\{/m);
      expect((await get(port!, '/healthz')).status).toBe(503);
      expect((await get(port!, '/livez')).status).toBe(200);
    };
    redis.freeze(); // hangs: every command waits
    await down();
    await redis.shutdown(); // gone: connections refused
    await down();
    expect(valueOf((await get(port!, '/metrics')).body, 'asyncq_scrape_errors_total')).toBeGreaterThanOrEqual(3);

    await redis.relaunch();
    await eventually(async () => {
      const back = await get(port!, '/metrics');
      expect(valueOf(back.body, 'asyncq_up')).toBe(1);
      expect(valueOf(back.body, `asyncq_queue_unfinished{queue="${name}"}`)).toBe(3);
    }, 15_000);
    expect((await get(port!, '/healthz')).status).toBe(200);
    exporter.kill('SIGTERM');
    expect(await exporter.exited).toBe(0);
  }, 90_000);

  it('starts while Redis is down (asyncq_up 0, said on stderr); a wrong password or queue name is one line and exit 1', async () => {
    const closed = `redis://:secret@127.0.0.1:${await freePort()}`;
    const exporter = startCli(['metrics', '--port', '0'], { REDIS_URL: closed });
    const [, port] = await exporter.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
    expect(exporter.stderr).toMatch(/cannot reach Redis at 127\.0\.0\.1:\d+ .*; serving asyncq_up 0 until Redis answers/);
    expect(exporter.stderr + exporter.stdout).not.toContain('secret');
    expect(valueOf((await get(port!, '/metrics')).body, 'asyncq_up')).toBe(0);
    expect((await get(port!, '/healthz')).status).toBe(503);
    exporter.kill('SIGTERM');
    expect(await exporter.exited).toBe(0);

    const redis = await RedisServer.start({ aof: true, args: ['--requirepass', 'right'] });
    const refused = startCli(['metrics', '--port', '0'], { REDIS_URL: `redis://:wrong@127.0.0.1:${redis.port}` });
    expect(await refused.exited).toBe(1);
    expect(oneLine(refused.stderr)).toMatch(/refused the password/);
    const badName = startCli(['metrics', '--queue', 'a b']);
    expect(await badName.exited).toBe(1);
    expect(oneLine(badName.stderr)).toMatch(/queue name/i);
  }, 60_000);
});
