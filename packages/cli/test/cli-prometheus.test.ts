// Prometheus, round two (issue 23): the exporter's backpressure, join, pause, shutdown and slot
// gauges; a fleet's one aggregated /metrics with its restart counter; and every /metrics (worker,
// fleet, exporter) accepted by `promtool check metrics`.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Queue, QueueAdmin, WorkerRegistry } from '@asyncq/core';
import { eventually, freePort, redisUrl, track, uniqueName } from '@asyncq/test-support';
import { mergeSlotTexts } from '../src/fleet/metrics-merge.js';
import { startCli } from './cli-process.js';
import { get, HANDLERS, valueOf } from './cli-test-helpers.js';

/** `promtool check metrics` on `text`: its exit code and what it said. */
function promtool(text: string): { code: number | null; said: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { code: r.status, said: `${r.stdout}${r.stderr}` };
}

describe('Prometheus: every /metrics passes promtool; the fleet serves one', () => {
  it('merging two workers labels each sample with its slot and keeps one HELP and TYPE per family', () => {
    const worker = (n: number): string =>
      [
        '# HELP asyncq_tasks_completed_total Tasks finished successfully.',
        '# TYPE asyncq_tasks_completed_total counter',
        `asyncq_tasks_completed_total{queue="q",task="t"} ${n}`,
        '',
        '# HELP process_cpu_seconds_total CPU.',
        '# TYPE process_cpu_seconds_total counter',
        `process_cpu_seconds_total ${n / 10}`,
        '# HELP asyncq_task_duration_seconds Run time.',
        '# TYPE asyncq_task_duration_seconds histogram',
        `asyncq_task_duration_seconds_bucket{le="1",queue="q",task="t"} ${n}`,
        `asyncq_task_duration_seconds_bucket{le="+Inf",queue="q",task="t"} ${n}`,
        `asyncq_task_duration_seconds_sum{queue="q",task="t"} ${n}`,
        `asyncq_task_duration_seconds_count{queue="q",task="t"} ${n}`,
      ].join('\n');
    const text = mergeSlotTexts([{ slot: 0, text: worker(3) }, { slot: 2, text: worker(5) }], '# HELP asyncq_fleet_restarts_total R.\n# TYPE asyncq_fleet_restarts_total counter\nasyncq_fleet_restarts_total{queue="q"} 1\n');
    expect(text.match(/# TYPE asyncq_tasks_completed_total/g)).toHaveLength(1);
    expect(valueOf(text, 'asyncq_tasks_completed_total{slot="0",queue="q",task="t"}')).toBe(3);
    expect(valueOf(text, 'asyncq_tasks_completed_total{slot="2",queue="q",task="t"}')).toBe(5);
    expect(valueOf(text, 'process_cpu_seconds_total{slot="2"}')).toBe(0.5);
    expect(valueOf(text, 'asyncq_task_duration_seconds_count{slot="0",queue="q",task="t"}')).toBe(3);
    expect(promtool(text)).toEqual({ code: 0, said: '' });
  });

  it('a fleet answers on one port for all its workers, counts restarts, and the exporter shows maxsize, blocked puts, joiners, pause, shutdown and slots', { timeout: 150_000 }, async () => {
    const name = uniqueName('prom');
    const q = track(new Queue(name, { connection: redisUrl(), maxsize: 2 }), name);
    await q.put({ ms: 1 }, { name: 'sleep' });
    const registry = track(new WorkerRegistry(name, { connection: redisUrl() }), name);
    const port = await freePort();
    const base = await freePort();
    const fleet = startCli(['fleet', HANDLERS, '-q', name, '-w', '2', '-c', '3', '--metrics-port', String(port), '--metrics-port-base', String(base)]);
    await fleet.waitFor(/metrics of every worker on 127\.0\.0\.1:\d+\/metrics/, 30_000);
    let text = '';
    await eventually(async () => {
      text = (await get(port, '/metrics')).body;
      expect(valueOf(text, `asyncq_fleet_slot_up{queue="${name}",slot="0"}`)).toBe(1);
      expect(valueOf(text, `asyncq_fleet_slot_up{queue="${name}",slot="1"}`)).toBe(1);
      expect(valueOf(text, `asyncq_tasks_completed_total{slot="0",queue="${name}",task="sleep"}`) ?? valueOf(text, `asyncq_tasks_completed_total{slot="1",queue="${name}",task="sleep"}`)).toBe(1);
    }, 30_000);
    expect(valueOf(text, `asyncq_fleet_restarts_total{queue="${name}"}`)).toBe(0);
    expect(valueOf(text, `asyncq_fleet_workers{queue="${name}"}`)).toBe(2);
    expect(promtool(text)).toEqual({ code: 0, said: '' });
    // A worker's own /metrics, which prom-client's default *_total gauges made promtool refuse (exit 3).
    expect(promtool((await get(base, '/metrics')).body)).toEqual({ code: 0, said: '' });

    // The exporter: the fleet's slots, then a paused full queue with a blocked put and a joiner.
    const exporter = startCli(['metrics', '--port', '0', '--queue', name]);
    const [, exporterPort] = await exporter.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
    const series = (metric: string): number | undefined => valueOf(text, `${metric}{queue="${name}"}`);
    await eventually(async () => {
      text = (await get(exporterPort!, '/metrics')).body;
      expect(series('asyncq_worker_slots')).toBe(6);
    }, 20_000);
    expect([series('asyncq_worker_slots_busy'), series('asyncq_queue_maxsize'), series('asyncq_queue_paused'), series('asyncq_queue_puts_waiting'), series('asyncq_queue_shutdown')]).toEqual([0, 2, 0, 0, 0]);
    const admin = track(new QueueAdmin(name, { connection: redisUrl() }), name);
    await admin.pause();
    await q.put({ ms: 1 }, { name: 'sleep' });
    await q.put({ ms: 1 }, { name: 'sleep' });
    const blocked = q.put({ ms: 1 }, { name: 'sleep' });
    const joiner = track(new Queue(name, { connection: redisUrl() }), name);
    const joined = joiner.join();
    await eventually(async () => {
      text = (await get(exporterPort!, '/metrics')).body;
      expect([series('asyncq_queue_paused'), series('asyncq_queue_puts_waiting'), series('asyncq_queue_joiners_waiting')]).toEqual([1, 1, 1]);
    }, 20_000);
    expect(promtool(text)).toEqual({ code: 0, said: '' });
    await admin.resume();
    await blocked;
    await joined;

    // A worker killed outright is restarted, and counted.
    const pid = (await registry.list())[0]!.pid;
    process.kill(pid, 'SIGKILL');
    await eventually(async () => {
      text = (await get(port, '/metrics')).body;
      expect(valueOf(text, `asyncq_fleet_restarts_total{queue="${name}"}`)).toBe(1);
    }, 30_000);
    await q.shutdown();
    await eventually(async () => {
      text = (await get(exporterPort!, '/metrics')).body;
      expect(series('asyncq_queue_shutdown')).toBe(1);
    }, 20_000);
  });
});
