import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Queue } from '@asyncq/core';
import { freePort, redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';
import { podman, podmanObjects, podmanProblem, REPO_ROOT, sh, type PodmanObjects } from './podman.js';

// The real image, built by podman from docker/Dockerfile on the base images docker/local-bases.sh
// makes from Debian's packages (nothing is pulled), run as users run it: one worker container, the
// compose stack under podman-compose, and the worker Deployment under `podman kube play`. Every
// container, pod, network, volume, secret and image made here is removed again, except the bases
// (and podman's own pause image for pods), which later runs reuse.

const problem = podmanProblem();
if (problem) console.log(`skipped: no container runtime (${problem})`);

const DOCKER = join(REPO_ROOT, 'docker');
const run = uniqueName('asyncq-test'); // names everything this file makes
const image = `localhost/${run}:latest`;
const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string }).version;
const MINUTE = 60_000;

/** Waits until `check` returns a value, polling every half second, or throws what it last saw. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(500);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

describe.skipIf(problem !== undefined)('the image and the deployment files, run in podman', () => {
  let before: PodmanObjects | undefined;

  beforeAll(async () => {
    // Quick when the bases exist; the first time on a machine it takes a few minutes.
    await sh(join(DOCKER, 'local-bases.sh'), [], { timeout: 15 * MINUTE });
    before = await podmanObjects();
    // --layers=false: no intermediate images are kept, so removing the image removes all of it.
    await podman(['build', '--layers=false', '--quiet', '--file', 'docker/Dockerfile', '--tag', image, '.'], { timeout: 10 * MINUTE });
  }, 25 * MINUTE);

  afterAll(async () => {
    if (!before) return;
    // Each test removes what it made; this removes what a failed one may have left, then checks.
    const leftovers = (await podman(['ps', '--all', '--filter', `label=asyncq-test=${run}`, '--format', '{{.Names}}'])).split('\n').filter(Boolean);
    if (leftovers.length > 0) await podman(['rm', '--force', '--time', '0', ...leftovers]);
    await podman(['image', 'rm', '--force', image]).catch(() => {});
    // podman builds its pause image for pods the first time one is played, and keeps it for the next.
    const withoutPause = (o: PodmanObjects): PodmanObjects => ({ ...o, images: o.images.filter((i) => !i.includes(' localhost/podman-pause:')) });
    expect(withoutPause(await podmanObjects())).toEqual(withoutPause(before));
  }, 2 * MINUTE);

  it('runs as the non-root node user and prints its version; its size is printed', async () => {
    expect(await podman(['run', '--rm', image, '--version'])).toBe(version);
    expect(await podman(['image', 'inspect', '--format', '{{.Config.User}}', image])).toBe('node');
    expect(await podman(['run', '--rm', '--entrypoint', 'id', image, '-u'])).toBe('1000');
    const bytes = Number(await podman(['image', 'inspect', '--format', '{{.Size}}', image]));
    const base = Number(await podman(['image', 'inspect', '--format', '{{.Size}}', 'docker.io/library/node:20-slim']));
    console.log(`image size: ${(bytes / 1e6).toFixed(0)} MB (${((bytes - base) / 1e6).toFixed(0)} MB over node:20-slim)`);
    expect(bytes).toBeGreaterThan(base);
  });

  /** Starts a worker container on the host network, working `queue` in the tests' Redis. */
  async function startWorker(queue: string, args: string[]): Promise<{ name: string; metrics: string }> {
    const name = `${run}-${queue}`;
    const port = await freePort();
    await podman([
      'run', '--detach', '--name', name, '--label', `asyncq-test=${run}`, '--network', 'host', '--env', `REDIS_URL=${redisUrl()}`, image,
      'worker', '/app/dist/demo/demo-handlers.js', '--queue', queue, '--metrics-port', String(port), '--metrics-host', '127.0.0.1', ...args,
    ]);
    return { name, metrics: `http://127.0.0.1:${port}` };
  }

  it('a worker container finishes the tasks put from the host, and serves /metrics and /healthz to the host', async () => {
    const name = uniqueName('image');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const worker = await startWorker(name, ['--concurrency', '4']);
    try {
      await q.putMany(Array.from({ length: 20 }, (_, i) => ({ item: { ms: 10 + i }, opts: { name: 'sleep' } })));
      await q.join({ timeout: 30_000 });
      expect(await q.counts()).toMatchObject({ completed: 20, failed: 0 });

      const metrics = await until('/metrics', async () => (await fetch(`${worker.metrics}/metrics`)).text(), 10_000);
      expect(metrics).toContain(`asyncq_tasks_completed_total{queue="${name}",task="sleep"} 20`);
      const health = await fetch(`${worker.metrics}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });
      // The worker process itself, not only the image's default user.
      expect(await podman(['top', worker.name, 'user'])).toMatch(/^USER\s+node$/);
    } finally {
      await podman(['rm', '--force', '--time', '10', worker.name]);
    }
  }, 2 * MINUTE);

  it('`podman stop` (SIGTERM) stops a worker gracefully: a task that ends within --grace completes, one that does not is handed back', async () => {
    const name = uniqueName('stop');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const worker = await startWorker(name, ['--concurrency', '2', '--grace', '6s']);
    try {
      await q.put({ ms: 3000 }, { name: 'sleep' });
      await q.put({ ms: 10 * MINUTE }, { name: 'sleep' });
      await until('both tasks running', async () => ((await q.counts()).active === 2 ? true : undefined), 30_000);
      // Far longer than the grace: a worker that ignored SIGTERM (node as PID 1 without a handler
      // does) would be killed at the end of it, and exit with 137.
      await podman(['stop', '--time', '60', worker.name], { timeout: 2 * MINUTE });
      expect(await podman(['inspect', '--format', '{{.State.ExitCode}}', worker.name])).toBe('0');
      expect(await q.counts()).toMatchObject({ completed: 1, waiting: 1, active: 0, failed: 0 });
      expect(await podman(['logs', worker.name], { both: true })).toContain('worker stopping');
    } finally {
      await podman(['rm', '--force', '--time', '0', worker.name]);
    }
  }, 3 * MINUTE);

  it('the compose stack comes up under podman-compose: the producer’s tasks are all finished, and Prometheus in the stack scrapes every target', async () => {
    // docker/compose.yaml as it is, but for what this run names or cannot run here: the image is the
    // one built above (no build), Prometheus is published on a free loopback port, bind mounts are
    // absolute (the file is written elsewhere), two workers (podman-compose 1.0 has no --scale; the
    // file's deploy.replicas is what it reads), and no Grafana (no image of it can be built from
    // Debian: its files are checked statically). JSON, so that PyYAML reads every string as a string.
    const compose = parse(readFileSync(join(DOCKER, 'compose.yaml'), 'utf8')) as { services: Record<string, Record<string, unknown>> };
    const prometheusPort = await freePort();
    delete compose.services.grafana;
    for (const service of ['worker', 'producer', 'metrics']) compose.services[service]!.image = image;
    compose.services.worker!.deploy = { replicas: 2 };
    compose.services.prometheus!.ports = [`127.0.0.1:${prometheusPort}:9090`];
    for (const service of Object.values(compose.services)) {
      service.volumes = (service.volumes as string[] | undefined)?.map((v) => v.replace(/^\.\//, `${DOCKER}/`));
    }
    const dir = mkdtempSync(join(tmpdir(), 'asyncq-compose-'));
    const file = join(dir, 'compose.json');
    writeFileSync(file, JSON.stringify(compose, null, 2));
    const project = run.replaceAll('-', '');
    const podmanCompose = (args: string[], timeout = 3 * MINUTE): Promise<string> => sh('podman-compose', ['--project-name', project, '--file', file, ...args], { timeout });
    const stats = async (): Promise<Record<string, number>> =>
      (JSON.parse(await podman(['exec', `${project}_metrics_1`, 'node', '/app/dist/bin.js', 'stats', 'jobs', '--json'])) as Record<string, number>[])[0]!;
    const prometheus = async <T>(path: string): Promise<T> => ((await (await fetch(`http://127.0.0.1:${prometheusPort}${path}`)).json()) as { data: T }).data;
    type Target = { scrapePool: string; scrapeUrl: string; health: string };
    try {
      await podmanCompose(['up', '--detach', '--no-build']);

      // The first batch of 200 is done (the producer puts one every 10 s), no task failed, and both
      // workers are registered.
      const done = await until(
        'the first batch finished',
        async () => {
          const s = await stats();
          return s.completed! >= 200 && s.unfinished === 0 ? s : undefined;
        },
        2 * MINUTE,
      );
      expect(done).toMatchObject({ failed: 0, workers: 2 });
      // The workers take their options as the file gives them, without a deprecation warning.
      for (const w of ['worker_1', 'worker_2']) expect.soft(await podman(['logs', `${project}_${w}`], { both: true })).not.toMatch(/deprecated/i);

      // Every target up: both worker replicas, found by DNS, and the exporter (a 15 s scrape interval).
      const targets = await until(
        'every target up',
        async () => {
          const t = (await prometheus<{ activeTargets: Target[] }>('/api/v1/targets')).activeTargets;
          return t.length === 3 && t.every((x) => x.health === 'up') ? t : undefined;
        },
        2 * MINUTE,
      );
      expect(targets.filter((t) => t.scrapePool === 'asyncq-workers')).toHaveLength(2);
      expect(targets.filter((t) => t.scrapePool === 'asyncq-exporter').map((t) => t.scrapeUrl)).toEqual(['http://metrics:9465/metrics']);
      // What was scraped is the work done: the workers' counters and the exporter's gauges.
      const value = async (expr: string): Promise<number> => {
        const r = await prometheus<{ result: { value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
        return Number(r.result[0]?.value[1] ?? NaN);
      };
      await until('counts scraped', async () => ((await value('sum(asyncq_tasks_completed_total{queue="jobs"})')) >= 200 ? true : undefined), MINUTE);
      // The exporter is scraped every 15 s too, on its own schedule: its gauge shows the work once it has been scraped since.
      await until('the exporter scraped', async () => ((await value('asyncq_queue_tasks{queue="jobs",state="completed"}')) >= 200 ? true : undefined), MINUTE);
      // The alert rules next to the config are loaded.
      expect((await prometheus<{ groups: unknown[] }>('/api/v1/rules')).groups.length).toBeGreaterThan(0);

      // SIGTERM stops every service by itself within the workers' stop_grace_period (which
      // podman-compose 1.0 does not pass on, hence podman stop): none is killed. Users first, Redis last.
      const grace = String(parseInt(String(compose.services.worker!.stop_grace_period), 10));
      const containers: string[] = [];
      for (const group of [['producer_1', 'metrics_1'], ['worker_1', 'worker_2'], ['prometheus_1', 'redis_1']]) {
        const names = group.map((c) => `${project}_${c}`);
        await podman(['stop', '--time', grace, ...names], { timeout: 2 * MINUTE });
        containers.push(...names);
      }
      for (const c of containers) expect(`${c} exited ${await podman(['inspect', '--format', '{{.State.ExitCode}}', c])}`).toBe(`${c} exited 0`);
    } finally {
      await podmanCompose(['down', '--volumes', '--timeout', '0']).catch((e: Error) => console.error(e.message));
      // podman-compose 1.0 leaves the project's network behind.
      await podman(['network', 'rm', '--force', `${project}_default`]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  }, 8 * MINUTE);

  it('`podman kube play docker/k8s/worker.yaml`, with the secret and a Redis, starts the worker pod, which processes tasks', async () => {
    // The Deployment as it is, but for names this run owns (Deployment, image, secret), one replica,
    // and a free host port: podman 4 publishes every containerPort on the host (Kubernetes does not),
    // so two replicas would both take 9464.
    type Container = { image: string; env: { valueFrom: { secretKeyRef: { name: string } } }[]; ports: { hostPort?: number }[] };
    const deployment = parse(readFileSync(join(DOCKER, 'k8s/worker.yaml'), 'utf8')) as {
      metadata: { name: string };
      spec: { replicas: number; template: { spec: { containers: Container[] } } };
    };
    const container = deployment.spec.template.spec.containers[0]!;
    const hostPort = await freePort();
    deployment.metadata.name = run;
    deployment.spec.replicas = 1;
    container.image = image;
    container.ports[0]!.hostPort = hostPort;
    container.env[0]!.valueFrom.secretKeyRef.name = run;
    const dir = mkdtempSync(join(tmpdir(), 'asyncq-kube-'));
    const file = join(dir, 'worker.json');
    writeFileSync(file, JSON.stringify(deployment, null, 2));
    const redisPort = await freePort();
    const redis = `${run}-redis`;
    try {
      await podman(['network', 'create', run]);
      await podman(['run', '--detach', '--name', redis, '--label', `asyncq-test=${run}`, '--network', run, '--publish', `127.0.0.1:${redisPort}:6379`, 'docker.io/library/redis:7-alpine']);
      // podman 4.3 reads a secretKeyRef from a podman secret holding JSON: each key to its base64 value.
      writeFileSync(join(dir, 'secret.json'), JSON.stringify({ url: Buffer.from(`redis://${redis}:6379`).toString('base64') }));
      await podman(['secret', 'create', run, join(dir, 'secret.json')]);
      await podman(['kube', 'play', '--network', run, file]);
      const worker = `${run}-pod-0-worker`;
      expect(await podman(['top', worker, 'user'])).toMatch(/^USER\s+node$/);
      expect.soft(await podman(['logs', worker], { both: true })).not.toMatch(/deprecated/i);
      expect(await podman(['inspect', '--format', '{{.HostConfig.Memory}}', worker])).toBe(String(512 * 2 ** 20));

      const q = new Queue('jobs', { connection: `redis://127.0.0.1:${redisPort}` });
      try {
        await q.putMany(Array.from({ length: 30 }, () => ({ item: { ms: 20 }, opts: { name: 'sleep' } })));
        await q.join({ timeout: 60_000 });
        expect(await q.counts()).toMatchObject({ completed: 30, failed: 0 });
      } finally {
        await q.close();
      }
      // The readiness probe's endpoint, on the published port.
      const health = await until('/healthz', async () => fetch(`http://127.0.0.1:${hostPort}/healthz`), 10_000);
      expect(health.status).toBe(200);
    } finally {
      await podman(['kube', 'down', file]).catch((e: Error) => console.error(e.message));
      await podman(['rm', '--force', '--time', '0', redis]).catch(() => {});
      await podman(['secret', 'rm', run]).catch(() => {});
      await podman(['network', 'rm', '--force', run]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  }, 4 * MINUTE);
});
