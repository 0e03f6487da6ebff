import { describe, expect, it } from 'vitest';
import { parseCredentials } from '../../src/dashboard/basic-auth.js';
import { QueueTrend as CompletionTrend } from '../../src/dashboard/queue-trend.js';
import { MAX_DRAIN_SECONDS as DRAIN_CAP_S, drainSeconds } from '../../src/queues/rates.js';
import type { QueueDetail } from '../../src/dashboard/dashboard-types.js';
import { pageScript } from '../../src/dashboard/page-assets.js';
import { escapeHtml, renderPage, type PageOptions } from '../../src/dashboard/page-render.js';
import { chartPoints, partitionCells, queueFields, workerCells } from '../../src/dashboard/queue-view.js';

const NOW = 1_700_000_000_000;

function detail(over: Partial<QueueDetail> = {}): QueueDetail {
  const counts = { waiting: 40, delayed: 2, active: 3, completed: 100, failed: 1, cancelled: 0, unfinished: 45, paused: 0, stalled: 0, blocked: 0 };
  return {
    name: 'emails',
    partitions: 1,
    at: NOW,
    counts,
    state: { shutdown: '', paused: false, partitions: 1, maxsize: 0, putsWaiting: false, joinersWaiting: false },
    totals: { added: 146, completed: 100, failed: 1, retried: 2, reclaimed: 0, discarded: 0, cancelled: 0 },
    workers: { live: 2, busy: 1, slots: 8, running: 3, desired: 4, desiredBy: 'manual', supervisors: 1, supervisedWorkers: 2 },
    oldestWaitingMs: 12_500,
    finishRate: 3,
    donePerSec: 2.5,
    drainSeconds: 15,
    drain: '15 s',
    partitionCounts: [counts],
    workerList: [
      { id: 'w1', host: 'box', pid: 42, concurrency: 4, running: 3, done: 90, failed: 1, lastHeartbeat: NOW - 1500, current: [{ id: '7', name: 'send', startedAt: NOW - 2000 }] },
      { id: 'w2', host: 'box', pid: 43, concurrency: 4, running: 0, done: 10, failed: 0, lastHeartbeat: NOW - 500, current: [] },
    ],
    throughput: [
      { at: NOW - 4000, done: 2, failed: 0 },
      { at: NOW - 2000, done: 4, failed: 1 },
      { at: NOW, done: 2.5, failed: 0 },
    ],
    limits: { limits: {}, rateBinds: false, concurrencyBinds: false, groupsBlocked: 0, groupsWaiting: 0, inWindow: 0, held: 3, ready: 40, waitingOnLimits: 0 },
    groups: [],
    ...over,
  };
}

const PAGE: PageOptions = { prefix: 'asyncq', actions: false, boardPath: 'board', windowMs: 300_000, intervalMs: 2000, now: NOW };

describe('drain time (no Redis)', () => {
  it('is unfinished / rate, 0 when nothing is unfinished, capped at a day when nothing finishes', () => {
    expect(drainSeconds(0, 0)).toBe(0);
    expect(drainSeconds(0, 5)).toBe(0);
    expect(drainSeconds(100, 4)).toBe(25);
    expect(drainSeconds(100, 0)).toBe(DRAIN_CAP_S);
    expect(drainSeconds(1e9, 0.001)).toBe(DRAIN_CAP_S);
    expect(Number.isFinite(drainSeconds(5, Number.NaN))).toBe(true);
  });

  it('smooths the finish rate from the totals, starting at the first reading rather than creeping up from 0', () => {
    const t = new CompletionTrend();
    t.observe({ completed: 0, failed: 0 }, NOW);
    expect(t.finishRate).toBe(0); // a baseline only
    t.observe({ completed: 18, failed: 2 }, NOW + 2000); // 10/s
    expect(t.finishRate).toBeCloseTo(10, 6);
    expect(t.drainSeconds(50)).toBeCloseTo(5, 6);
    t.observe({ completed: 18, failed: 2 }, NOW + 4000); // a still interval pulls it down, a little
    expect(t.finishRate).toBeGreaterThan(4);
    expect(t.finishRate).toBeLessThan(10);
    expect(t.series().map((p) => [p.done, p.failed])).toEqual([
      [9, 1],
      [0, 0],
    ]);
  });

  it('says what a queue that is not draining is, never a number: paused, shut down, stuck, nothing to drain (the DrainMeter of watch and the exporter)', () => {
    const state = { unfinished: 50, waiting: 50, paused: false, shutdown: false };
    const paused = new CompletionTrend();
    paused.observe({ completed: 0, failed: 0 }, NOW, { ...state, paused: true });
    paused.observe({ completed: 0, failed: 0 }, NOW + 2000, { ...state, paused: true });
    expect(paused.drain(NOW + 2000, { ...state, paused: true })).toBe('paused');
    const closed = new CompletionTrend();
    closed.observe({ completed: 0, failed: 0 }, NOW, { ...state, shutdown: true });
    closed.observe({ completed: 0, failed: 0 }, NOW + 2000, { ...state, shutdown: true });
    expect(closed.drain(NOW + 2000, { ...state, shutdown: true })).toBe('shut down');
    const stuck = new CompletionTrend();
    for (let i = 0; i <= 61; i++) stuck.observe({ completed: 7, failed: 0 }, NOW + i * 1000, state);
    expect(stuck.drain(NOW + 61_000, state)).toMatch(/^stuck: nothing finished for 1 min/);
    const draining = new CompletionTrend();
    draining.observe({ completed: 0, failed: 0 }, NOW, state);
    draining.observe({ completed: 20, failed: 0 }, NOW + 2000, state); // 10/s, 50 left
    expect(draining.drain(NOW + 2000, state)).toBe('5 s');
    draining.observe({ completed: 70, failed: 0 }, NOW + 4000, { ...state, unfinished: 0, waiting: 0 });
    expect(draining.drain(NOW + 4000, { ...state, unfinished: 0, waiting: 0 })).toBe('nothing to drain');
  });

  it('starts over when a counter goes back (the queue was deleted and made again), and keeps only the window', () => {
    const t = new CompletionTrend({ windowMs: 10_000 });
    t.observe({ completed: 100, failed: 0 }, NOW);
    t.observe({ completed: 120, failed: 0 }, NOW + 1000);
    t.observe({ completed: 3, failed: 0 }, NOW + 2000);
    expect(t.finishRate).toBe(0);
    expect(t.series()).toEqual([]);
    for (let i = 1; i <= 30; i++) t.observe({ completed: 3 + i, failed: 0 }, NOW + 2000 + i * 1000);
    expect(t.series()).toHaveLength(11);
    expect(t.series()[0]!.at).toBe(NOW + 22_000);
  });
});

describe('the asyncq page (no Redis)', () => {
  it('escapes everything that comes from Redis: queue names, hosts, task names and ids', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe('&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#96;');
    const evil = '<script>alert(1)</script>';
    const html = renderPage(
      [
        detail({
          name: evil,
          workerList: [{ id: '"><img src=x onerror=alert(2)>:1:x', host: '"><img src=x onerror=alert(2)>', pid: 1, concurrency: 1, running: 1, done: 0, failed: 0, lastHeartbeat: NOW, current: [{ id: '<i>9</i>', name: '<svg onload=alert(3)>', startedAt: NOW }] }],
        }),
      ],
      { ...PAGE, prefix: '</title><script>alert(4)</script>' },
    );
    expect(html).not.toMatch(/<script>alert|<img|<svg onload|<i>9/);
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toContain('&#34;&#62;&#60;img src=x onerror=alert(2)&#62;');
    expect(html).toContain('&#60;svg onload=alert(3)&#62;');
    // The only scripts are the page's own file: no inline script for a policy to allow.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain('<script defer src="assets/dashboard.js"></script>');
  });

  it('shows join, the maxsize gate, shutdown, pause, workers against desired and the drain time', () => {
    const f = queueFields(detail());
    expect(f).toMatchObject({
      unfinished: '45',
      joiners: 'no joiner waiting',
      ready: '42',
      maxsize: 'unbounded',
      gate: 'room for puts',
      shutdown: 'open',
      delivery: 'delivering',
      live: '2',
      busy: '1 busy, 1 idle, 3 of 8 slots in use',
      desired: '4 (asyncq scale)',
      drain: '15 s',
      flags: '',
    });
    const g = queueFields(
      detail({
        partitions: 4,
        state: { shutdown: 'graceful', paused: true, partitions: 4, maxsize: 42, putsWaiting: true, joinersWaiting: true },
        workers: { ...detail().workers, desired: null, desiredBy: null },
        finishRate: 0,
        drainSeconds: DRAIN_CAP_S,
        drain: 'paused',
      }),
    );
    expect(g).toMatchObject({
      flags: 'shut down (graceful) · paused · 4 partitions',
      joiners: 'joiners are waiting',
      maxsize: '42',
      gate: 'full: puts are waiting for room',
      shutdown: 'shut down (graceful): puts fail',
      delivery: 'paused: gets wait',
      desired: 'not set',
      drain: 'paused',
    });
    expect(queueFields(detail({ drain: '1 h 2 min' })).drain).toBe('1 h 2 min');
  });

  it('lists each worker busy or idle with its current tasks, and partitions by counts', () => {
    const [busy, idle] = detail().workerList;
    expect(workerCells(busy!, NOW)).toEqual(['w1', '3/4', 'busy', 'send #7 (2.0 s)', '90', '1', '1.5 s ago']);
    expect(workerCells(idle!, NOW)).toEqual(['w2', '0/4', 'idle', '—', '10', '0', '0.5 s ago']);
    expect(partitionCells(detail().counts, 2)).toEqual(['#2', '40', '2', '3', '100', '1', '0']);
  });

  it('draws the throughput over the history there is, now at the right edge', () => {
    const c = chartPoints(detail().throughput, NOW, 300_000, 600, 120);
    expect(c.span).toBe('30 s'); // 4 s of history: the 30 s minimum
    expect(c.peak).toBe(4);
    expect(c.done.split(' ').at(-1)).toBe(`600.0,${(120 - (2.5 / 4) * 116).toFixed(1)}`); // 4 px kept free at the top
    expect(chartPoints([], NOW, 300_000, 600, 120)).toEqual({ done: '', failed: '', peak: 0, span: '30 s' }); // no "peak 1.0/s" on a queue that never ran
    const old = chartPoints([{ at: NOW - 600_000, done: 1, failed: 0 }, { at: NOW, done: 1, failed: 0 }], NOW, 300_000, 600, 120);
    expect(old.span).toBe('5 min');
    expect(old.done.startsWith('0.0,')).toBe(true);
  });

  it('gives the browser view functions that stand alone and render exactly as the server does', () => {
    const d = detail();
    const standalone = <F>(f: F): F => new Function(`return (${String(f)});`)() as F;
    expect(standalone(queueFields)(d)).toEqual(queueFields(d));
    expect(standalone(workerCells)(d.workerList[0]!, NOW)).toEqual(workerCells(d.workerList[0]!, NOW));
    expect(standalone(partitionCells)(d.counts, 1)).toEqual(partitionCells(d.counts, 1));
    expect(standalone(chartPoints)(d.throughput, NOW, 300_000, 600, 120)).toEqual(chartPoints(d.throughput, NOW, 300_000, 600, 120));
    expect(() => new Function(pageScript())).not.toThrow(); // it parses
    expect(pageScript()).not.toMatch(/innerHTML|insertAdjacentHTML|document\.write/);
  });
});

describe('--auth (no Redis)', () => {
  it('takes user:password, the password may hold colons; a mistake never repeats the value', () => {
    expect(parseCredentials('admin:s3:cr:et')).toEqual({ user: 'admin', password: 's3:cr:et' });
    for (const bad of ['nocolon-secret', ':secret', 'admin:']) {
      expect(() => parseCredentials(bad)).toThrow(/must be user:password/);
      try {
        parseCredentials(bad);
      } catch (e) {
        expect((e as Error).message).not.toContain('secret');
      }
    }
  });
});
