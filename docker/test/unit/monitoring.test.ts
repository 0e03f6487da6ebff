import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ALL_METRICS, FILES_USING_METRICS, metricNamesIn } from '../metric-names.js';

const run = promisify(execFile);
const DOCKER = new URL('../..', import.meta.url).pathname;
const read = (path: string): string => readFileSync(join(DOCKER, path), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'asyncq-monitoring-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `promtool check rules` on recording rules made of the expressions: resolves if every one parses. */
async function checkExpressions(exprs: Map<string, string>): Promise<string> {
  const file = join(scratch, `exprs-${Math.random().toString(36).slice(2)}.yml`);
  const rules = [...exprs].map(([name, expr]) => ({ record: name, expr }));
  writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
  const { stdout } = await run('promtool', ['check', 'rules', file]);
  return stdout;
}

describe('Prometheus config and alert rules', () => {
  it('promtool accepts the config and the rules, and the rules\' unit tests pass', async () => {
    await run('promtool', ['check', 'config', join(DOCKER, 'prometheus/prometheus.yml')]);
    await run('promtool', ['check', 'rules', join(DOCKER, 'prometheus/alerts.yml')]);
    const { stdout } = await run('promtool', ['test', 'rules', join(DOCKER, 'prometheus/alerts.test.yml')]);
    expect(stdout).toContain('SUCCESS');
  });

  it('has the eight alerts, each with a severity, a summary and a unit test', () => {
    type Rule = { alert: string; expr: string; labels: { severity: string }; annotations: { summary: string } };
    const rules = (parse(read('prometheus/alerts.yml')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual([
      'AsyncqExporterDown',
      'AsyncqRedisDown',
      'AsyncqNoWorkers',
      'AsyncqQueueNotDraining',
      'AsyncqOldestWaitingTooOld',
      'AsyncqHighFailureRatio',
      'AsyncqProducersBlocked',
      'AsyncqWorkerDown',
    ]);
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toBeTruthy();
    }
    const tested = (parse(read('prometheus/alerts.test.yml')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] }).tests.flatMap((t) =>
      t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
    );
    for (const r of rules) expect(tested, `${r.alert} has a unit test in which it fires`).toContain(r.alert);
    // Failures for good against completions, from one source: the exporter's counters.
    const ratio = rules.find((r) => r.alert === 'AsyncqHighFailureRatio')!.expr;
    expect([...metricNamesIn(ratio)].sort()).toEqual(['asyncq_queue_completed_total', 'asyncq_queue_failed_total']);
  });
});

describe('Grafana dashboard (docker/grafana/dashboards/asyncq.json)', () => {
  type Target = { refId: string; expr: string; legendFormat?: string; datasource?: unknown };
  type Panel = { id: number; type: string; title: string; description?: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: Target[]; panels?: Panel[]; fieldConfig?: { defaults?: { unit?: string } } };
  const text = read('grafana/dashboards/asyncq.json');
  const dashboard = JSON.parse(text) as { templating: { list: { name: string; type: string; query: unknown }[] }; panels: Panel[] };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const graphs = panels.filter((p) => p.type !== 'row');
  const targets = graphs.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, ...t })));

  it('refers to its data source only through the ${datasource} variable', () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(variable).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const refs: unknown[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (typeof v === 'object' && v !== null) {
        for (const [k, child] of Object.entries(v)) {
          if (k === 'datasource') refs.push(child);
          walk(child);
        }
      }
    };
    walk(dashboard);
    expect(refs.length).toBeGreaterThan(targets.length);
    for (const ref of refs) expect(ref).toEqual({ type: 'prometheus', uid: '${datasource}' });
    // Nor does the provisioned data source carry a uid a dashboard could hard-code.
    expect(read('grafana/provisioning/datasources/prometheus.yml')).not.toMatch(/^\s*uid:/m);
  });

  it('every rate() and increase() takes its range from Grafana ($__rate_interval), never a fixed [1m] or [5m]', () => {
    for (const t of targets) {
      const ranges = [...t.expr.matchAll(/\b(rate|increase|irate)\(([^[]*)\[([^\]]+)\]/g)].map((m) => [m[1], m[3]]);
      for (const [fn, range] of ranges) {
        if (fn === 'increase' && t.panel.type === 'stat') expect(['$__rate_interval', '$__range'], `${t.panel.title}: ${t.expr}`).toContain(range);
        else expect(range, `${t.panel.title}: ${t.expr}`).toBe('$__rate_interval');
      }
      expect(t.expr, t.panel.title).not.toMatch(/\[\d+[smhdwy]\]/);
    }
  });

  it('has stat panels for Redis reachability, oldest waiting, drain time and live vs desired workers', () => {
    const stats = graphs.filter((p) => p.type === 'stat').map((p) => (p.targets ?? []).map((t) => t.expr).join('\n'));
    expect(stats.some((e) => /\basyncq_up\b/.test(e))).toBe(true);
    expect(stats.some((e) => e.includes('asyncq_queue_oldest_waiting_seconds'))).toBe(true);
    expect(stats.some((e) => e.includes('asyncq_queue_drain_seconds'))).toBe(true);
    expect(stats.some((e) => /\basyncq_workers\{/.test(e) && e.includes('asyncq_workers_desired'))).toBe(true);
  });

  it('says what each series counts: failed attempts (retried included) apart from failures for good', () => {
    const legends = targets.map((t) => ({ legend: t.legendFormat ?? '', expr: t.expr }));
    const attempts = legends.filter((l) => l.legend.includes('failed attempts/s (incl. retried)'));
    expect(attempts.length).toBeGreaterThan(0);
    for (const l of attempts) expect(l.expr).not.toContain('final=');
    const forGood = legends.filter((l) => l.legend.includes('failed for good/s'));
    expect(forGood.length).toBeGreaterThanOrEqual(2);
    for (const l of forGood) expect(l.expr).toMatch(/final="true"|asyncq_queue_failed_total/);
    for (const p of graphs) expect(p.description, `${p.title} says what it shows`).toBeTruthy();
  });

  it('has a utilisation panel: busy slots over slots, per queue', () => {
    const util = graphs.filter((p) => (p.targets ?? []).some((t) => t.expr.includes('asyncq_worker_slots_busy') && t.expr.includes('asyncq_worker_slots{')));
    expect(util.map((p) => p.title)).toEqual(['Worker utilisation: busy slots / slots']);
    expect(util[0]!.fieldConfig?.defaults?.unit).toBe('percentunit');
  });

  it('is laid out on the 24-column grid with unique ids and no overlapping panels', () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    for (const [i, a] of panels.entries()) {
      for (const b of panels.slice(i + 1)) {
        const apart = a.gridPos.x + a.gridPos.w <= b.gridPos.x || b.gridPos.x + b.gridPos.w <= a.gridPos.x || a.gridPos.y + a.gridPos.h <= b.gridPos.y || b.gridPos.y + b.gridPos.h <= a.gridPos.y;
        expect(apart, `${a.title} / ${b.title}`).toBe(true);
      }
    }
  });

  it('every queue-level selector follows the $queue variable', () => {
    const unscoped = new Set(['asyncq_up', 'asyncq_scrape_errors_total']); // the exporter's own health: no queue label
    for (const t of targets) {
      for (const m of t.expr.matchAll(/\b(asyncq_[a-z_]+)(\{[^}]*\})?/g)) {
        if (unscoped.has(m[1]!)) continue;
        expect(m[2] ?? '', `${t.panel.title}: ${m[0]}`).toContain('queue=~"$queue"');
      }
    }
  });

  it('every panel expression parses (promtool check rules, Grafana variables substituted)', async () => {
    const exprs = new Map<string, string>();
    for (const t of targets) {
      const expr = t.expr
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$__range', '1h')
        .replaceAll('$__interval', '1m')
        .replace(/\$\{?queue\}?/g, '.*');
      expect(expr, `${t.panel.title}: a variable left`).not.toContain('$');
      exprs.set(`dashboard:panel_${t.panel.id}_${t.refId}`, expr);
    }
    expect(exprs.size).toBeGreaterThan(30);
    expect(await checkExpressions(exprs)).toContain(`SUCCESS: ${exprs.size} rules found`);
    // The harness itself: a broken expression fails.
    await expect(checkExpressions(new Map([['dashboard:broken', 'sum by (queue) (rate(asyncq_tasks_completed_total[1m])']]))).rejects.toThrow();
  });
});

describe('metric names in docker/', () => {
  it('the dashboard, the alerts and KEDA use only metrics of the contract (docker/test/metric-names.ts)', () => {
    const used = new Set<string>();
    for (const file of FILES_USING_METRICS) for (const m of metricNamesIn(read(file))) used.add(m);
    expect(used.size).toBeGreaterThan(15);
    for (const m of used) expect(ALL_METRICS, `${m} is in the contract`).toContain(m);
  });
});
