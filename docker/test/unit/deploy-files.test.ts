import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { composeProblems } from '../compose-check.js';

const DOCKER = new URL('../..', import.meta.url).pathname;
const read = (path: string): string => readFileSync(join(DOCKER, path), 'utf8');

describe('docker/compose.yaml', () => {
  const compose = parse(read('compose.yaml')) as { services: Record<string, Record<string, any>>; volumes: Record<string, unknown> };

  it('passes the structural check against the Compose Specification', () => {
    expect(composeProblems(compose, DOCKER)).toEqual([]);
  });

  it('the check finds the mistakes it is there for', () => {
    const broken = structuredClone(compose);
    broken.services.worker!.imagee = 'typo';
    delete broken.services.metrics!.image;
    broken.services.producer!.depends_on = { workers: { condition: 'service_started' } };
    broken.services.grafana!.ports = ['3000:3000:3000'];
    broken.services.prometheus!.volumes = ['missing-volume:/prometheus', './nowhere:/etc/prometheus:ro'];
    broken.services.redis!.healthcheck.interval = '5 seconds';
    broken.services.worker!.depends_on = { metrics: { condition: 'service_healthy' } };
    (broken as Record<string, unknown>).service = {};
    expect(composeProblems(broken, DOCKER)).toEqual([
      'service: not a top-level key of the Compose Specification',
      'services.redis.healthcheck.interval: not a duration',
      'services.worker.imagee: not a service key of the Compose Specification',
      'services.worker.depends_on.metrics: service_healthy but metrics has no healthcheck',
      'services.producer.depends_on: workers is not a service',
      'services.metrics: needs an image or a build',
      'services.prometheus.volumes: missing-volume is not declared under the top-level volumes',
      'services.prometheus.volumes: ./nowhere does not exist',
      'services.grafana.ports: "3000:3000:3000" is not [ip:][host:]container[/protocol]',
    ]);
  });

  it('runs every service; workers scale without host ports and Prometheus finds them by DNS', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'metrics', 'producer', 'prometheus', 'redis', 'worker']);
    expect(compose.services.worker!.ports).toBeUndefined();
    expect(compose.services.redis!.command).toContain('--appendonly');
    const prom = parse(read('prometheus/prometheus.yml')) as { scrape_configs: { job_name: string; dns_sd_configs?: { names: string[] }[] }[] };
    expect(prom.scrape_configs.find((s) => s.job_name === 'asyncq-workers')!.dns_sd_configs![0]!.names).toEqual(['worker']);
  });
});

describe('docker/Dockerfile', () => {
  it('passes dockerfilelint: multi-stage, non-root, production dependencies only', () => {
    const out = execFileSync(new URL('../../../node_modules/.bin/dockerfilelint', import.meta.url).pathname, [join(DOCKER, 'Dockerfile')], { encoding: 'utf8' });
    expect(out).toContain('Issues: None found');
    const dockerfile = read('Dockerfile');
    expect(dockerfile.match(/^FROM node:20-slim/gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('deploy --prod');
  });
});

describe('docker/k8s', () => {
  it('the manifests parse, and the termination grace covers the worker grace', () => {
    const docs = ['k8s/worker.yaml', 'k8s/exporter.yaml', 'k8s/keda-scaledobject.yaml'].flatMap((f) =>
      parseAllDocuments(read(f)).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, any> }),
    );
    expect(docs.map((d) => d.kind)).toEqual(['Deployment', 'Deployment', 'Service', 'ScaledObject']);
    const pod = docs[0]!.spec.template.spec;
    const args: string[] = pod.containers[0].args;
    const grace = /^(\d+)(ms|s)$/.exec(args[args.indexOf('--grace') + 1] ?? '');
    expect(grace, '--grace takes a duration with its unit').not.toBeNull();
    const graceMs = Number(grace![1]) * (grace![2] === 's' ? 1000 : 1);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(graceMs);
    expect(docs[3]!.spec.scaleTargetRef.name, 'KEDA scales the worker Deployment').toBe(docs[0]!.metadata.name);
    // Probes that follow Redis would restart every worker, and hide the exporter, during a Redis outage.
    expect(pod.containers[0].livenessProbe.httpGet.path).not.toBe('/healthz');
    const exporter = docs[1]!.spec.template.spec.containers[0];
    expect(JSON.stringify([exporter.readinessProbe, exporter.livenessProbe ?? null])).not.toContain('/healthz');
  });
});

describe('docker/local-bases.sh', () => {
  it('builds every base image the Dockerfile, the compose file and the tests name, but Grafana, under that very name', () => {
    const script = read('local-bases.sh');
    const built = ['NODE_IMAGE', 'REDIS_IMAGE', 'PROMETHEUS_IMAGE'].map((v) => new RegExp(`^${v}=(\\S+)$`, 'm').exec(script)?.[1]);
    // Short names as Docker and podman expand them.
    const full = (name: string): string => (name.includes('/') ? `docker.io/${name}` : `docker.io/library/${name}`);
    const compose = parse(read('compose.yaml')) as { services: Record<string, { image: string }> };
    const named = [
      ...[...read('Dockerfile').matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!),
      ...Object.values(compose.services).map((s) => s.image),
      /const REDIS_IMAGE = '([^']+)'/.exec(readFileSync(join(DOCKER, '../packages/test-support/src/global-setup.ts'), 'utf8'))![1]!,
    ].filter((image) => image !== 'asyncq:local' && !image.startsWith('grafana/'));
    expect(new Set(named.map(full))).toEqual(new Set(built));
  });
});
