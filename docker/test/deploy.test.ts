import { execFile, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Queue } from '@asyncq/core';
import { queueMetricsRegistry } from '@asyncq/cli';
import { Producer } from '@asyncq/producer';
import { defineHandlers, serveMetrics, Worker, WorkerMetrics } from '@asyncq/worker';
import { freePort, redisUrl, track, uniqueName } from '@asyncq/test-support';
import { ALL_METRICS, EXPORTER_METRICS_NOT_YET_EXPORTED, FILES_USING_METRICS, metricNamesIn } from './metric-names.js';

const run = promisify(execFile);
const DOCKER = new URL('..', import.meta.url).pathname;
const read = (path: string): string => readFileSync(join(DOCKER, path), 'utf8');

describe('docker/ files', () => {
  it("the Dockerfile's build stage, run here without Docker, yields an app that runs a worker", async () => {
    // The build stage's own COPY sources and RUN commands, read from the Dockerfile so they cannot drift.
    const dockerfile = read('Dockerfile');
    const stage = dockerfile.slice(0, dockerfile.indexOf('\nFROM ', dockerfile.indexOf('FROM ') + 1));
    const sources = [...stage.matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    const runs = [...stage.matchAll(/^RUN ((?:.*\\\n)*.*)$/gm)]
      .map((m) => m[1]!.replace(/\\\n\s*/g, ' '))
      .filter((cmd) => !cmd.startsWith('npm install --global pnpm')); // pnpm is here already
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'pnpm-lock.yaml', 'packages']));
    const ignored = read('../.dockerignore').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist']));

    const work = mkdtempSync(join(tmpdir(), 'asyncq-image-'));
    const src = join(work, 'src');
    const app = join(work, 'app');
    try {
      for (const path of sources) {
        cpSync(join(DOCKER, '..', path), join(src, path), {
          recursive: true,
          filter: (p) => !/(^|\/)(node_modules|dist|\.git)(\/|$)|\.tsbuildinfo$/.test(p),
        });
      }
      for (const cmd of runs) execFileSync('sh', ['-c', cmd.replaceAll(' /app', ` ${app}`)], { cwd: src, stdio: 'ignore' });

      const name = uniqueName('image');
      const q = track(new Queue(name, { connection: redisUrl() }), name);
      const worker = spawn(process.execPath, [join(app, 'dist/bin.js'), 'worker', join(app, 'dist/demo/demo-handlers.js'), '-q', name, '-c', '4'], {
        env: { ...process.env, REDIS_URL: redisUrl(), NODE_ENV: 'production' },
        stdio: 'ignore',
      });
      try {
        await q.putMany(Array.from({ length: 10 }, () => ({ item: { ms: 10 }, opts: { name: 'sleep' } })));
        await q.join({ timeout: 20_000 });
        expect((await q.counts()).completed).toBe(10);
      } finally {
        worker.kill('SIGTERM');
        await new Promise((r) => worker.once('exit', r));
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 180_000);

  it('every metric the dashboard, the alerts and KEDA use is one the code exports', async () => {
    // The live registries: a worker's, a producer's counter, and the exporter's.
    const exported = new Set<string>();
    for (const m of await new WorkerMetrics(new Registry()).registry.getMetricsAsJSON()) exported.add(m.name);
    const producerRegistry = new Registry();
    const name = uniqueName('names');
    const producer = track(new Producer({ queue: name, connection: redisUrl(), registry: producerRegistry }), name);
    await producer.enqueue('x', 1);
    for (const m of await producerRegistry.getMetricsAsJSON()) exported.add(m.name);
    const exporter = queueMetricsRegistry({ prefix: 'asyncq', redisUrl: redisUrl(), queue: [name] });
    track({ close: exporter.close }, name);
    for (const m of await exporter.registry.getMetricsAsJSON()) exported.add(m.name);

    // docker/ uses only names of the contract (the unit tests check that), and uses most of them.
    const used = new Set<string>();
    for (const file of FILES_USING_METRICS) for (const m of metricNamesIn(read(file))) used.add(m);
    expect(used.size).toBeGreaterThan(15);
    for (const m of used) expect(ALL_METRICS, `${m} is in the contract`).toContain(m);

    // Every name of the contract is exported, except the listed exporter names not exported yet;
    // each of those that the exporter now registers must leave the list, so it only shrinks.
    const nowExported = EXPORTER_METRICS_NOT_YET_EXPORTED.filter((m) => exported.has(m));
    expect(nowExported, 'exported now: delete them from EXPORTER_METRICS_NOT_YET_EXPORTED (docker/test/metric-names.ts)').toEqual([]);
    const missing = ALL_METRICS.filter((m) => !exported.has(m));
    expect(missing, 'names of the contract that the code does not export').toEqual([...EXPORTER_METRICS_NOT_YET_EXPORTED]);
  });
});

describe('Prometheus end to end', () => {
  it('a real Prometheus scrapes a worker and the exporter and has the values the work produced', async () => {
    const name = uniqueName('prom');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const worker = new Worker(name, defineHandlers({ job: async () => 'ok' }), { connection: redisUrl(), handleSignals: false, metricsPort: 0 });
    track({ close: () => worker.close({ graceMs: 0 }) }, name);
    void worker.run();
    await worker.started;
    const exporter = queueMetricsRegistry({ prefix: 'asyncq', redisUrl: redisUrl(), queue: [name] });
    const exporterServer = await serveMetrics(exporter.registry, 0, '127.0.0.1', () => ({}));
    track({ close: async () => (await exporterServer.close(), await exporter.close()) }, name);

    await q.putMany(Array.from({ length: 12 }, (_, i) => ({ item: i, opts: { name: 'job' } })));
    await q.join({ timeout: 10_000 });

    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'asyncq-prom-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        `  - { job_name: worker, static_configs: [{ targets: ["127.0.0.1:${worker.metricsPort}"] }] }`,
        `  - { job_name: exporter, static_configs: [{ targets: ["127.0.0.1:${exporterServer.port}"] }] }`,
      ].join('\n'),
    );
    const prometheus = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: 'ignore' },
    );
    try {
      const query = async (expr: string): Promise<number | undefined> => {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`).catch(() => undefined);
        if (!res?.ok) return undefined;
        const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
        const v = body.data.result[0]?.value[1];
        return v === undefined ? undefined : Number(v);
      };
      const until = Date.now() + 30_000;
      let completed: number | undefined;
      let queued: number | undefined;
      while (Date.now() < until) {
        completed = await query(`asyncq_tasks_completed_total{queue="${name}",task="job"}`);
        queued = await query(`asyncq_queue_tasks{queue="${name}",state="completed"}`);
        if (completed === 12 && queued === 12) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(completed).toBe(12);
      expect(queued).toBe(12);
      expect(await query(`asyncq_queue_unfinished{queue="${name}"}`)).toBe(0);
      expect(await query(`asyncq_task_duration_seconds_count{queue="${name}",task="job"}`)).toBe(12);

      // Every dashboard and alert expression evaluates on a real Prometheus holding this data: a
      // parse check cannot see evaluation errors such as a many-to-many match.
      const exprs = dashboardAndAlertExpressions(name);
      expect(exprs.length).toBeGreaterThan(35);
      for (const expr of exprs) {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`);
        expect(((await res.json()) as { status: string; error?: string }), expr).toEqual({ status: 'success', data: expect.anything() });
      }
    } finally {
      prometheus.kill('SIGTERM');
      await new Promise((r) => prometheus.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

/** The dashboard's panel expressions, Grafana's variables filled in for `queue`, and the alert rules' expressions. */
function dashboardAndAlertExpressions(queue: string): string[] {
  type Panel = { targets?: { expr: string }[]; panels?: Panel[] };
  const dashboard = JSON.parse(read('grafana/dashboards/asyncq.json')) as { panels: Panel[] };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const fromDashboard = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m').replaceAll('$queue', queue)));
  const alerts = parse(read('prometheus/alerts.yml')) as { groups: { rules: { expr: string }[] }[] };
  return [...fromDashboard, ...alerts.groups.flatMap((g) => g.rules.map((r) => r.expr))];
}

