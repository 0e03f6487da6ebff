import { describe, expect, it } from 'vitest';
import type { WorkerInfo } from '@asyncq/core';
import type { QueueDetail, WorkerView } from '../../src/dashboard/dashboard-types.js';
import { pageScript } from '../../src/dashboard/page-assets.js';
import { renderQueue, type PageOptions } from '../../src/dashboard/page-render.js';
import { renderWorker, renderWorkers } from '../../src/dashboard/worker-page.js';
import { listSummary, workerHref, workerListCells, workerView } from '../../src/dashboard/worker-view.js';
import { workerEntry } from '../../src/queues/worker-entry.js';

// The dashboard's worker pages (issue 23, Tracing), without Redis: what they say of a live, stale
// and gone worker, that a hostile registry entry stays text, and that the browser's copies of the
// view functions render as the server's do.

const NOW = 1_700_000_000_000;
const PAGE: PageOptions = { prefix: 'asyncq', actions: false, boardPath: 'board', windowMs: 300_000, intervalMs: 2000, now: NOW };

function info(over: Partial<WorkerInfo> = {}): WorkerInfo {
  return {
    id: 'box:42:0a1b2c3d',
    host: 'box',
    pid: 42,
    queue: 'emails',
    concurrency: 4,
    startedAt: NOW - 3_723_000,
    done: 1234,
    failed: 5,
    lastHeartbeat: NOW - 1500,
    running: 2,
    current: [{ id: '7', name: 'send', startedAt: NOW - 2000 }],
    version: '0.1.0',
    heartbeatMs: 2000,
    ...over,
  };
}

const view = (over: Partial<WorkerInfo> = {}, at = NOW): WorkerView => {
  const worker = workerEntry(info(over), at);
  return { queue: 'emails', id: worker.id, at, state: worker.stale ? 'stale' : 'live', worker };
};

describe('the worker pages (no Redis)', () => {
  it('shows who a live worker is, its load, what it runs now and its counters', () => {
    const { fields, tasks } = workerView(view());
    expect(fields).toMatchObject({
      id: 'box:42:0a1b2c3d',
      state: 'live: last heartbeat 1.5 s ago (it beats every 2.0 s)',
      host: 'box',
      pid: '42',
      version: '0.1.0',
      started: '2023-11-14 21:11:17 UTC',
      uptime: 'up 1 h 2 min',
      concurrency: '4',
      busy: '2 of 4 slots busy',
      done: '1,234',
      failed: '5',
      unlisted: 'and 1 more: a heartbeat names the first 1',
    });
    expect(tasks).toEqual([['7', 'send', '2023-11-14 22:13:18 UTC', '2.0 s']]);
    expect(workerListCells(fields)).toEqual(['box:42:0a1b2c3d', 'box', '42', '0.1.0', '2023-11-14 21:11:17 UTC', '4', '2', '1,234', '5', '1.5 s ago']);
  });

  it('calls a worker stale after two missed beats (5 s for one too old to say), and gone once it is not listed', () => {
    expect(workerEntry(info({ lastHeartbeat: NOW - 4000 }), NOW).stale).toBe(false);
    expect(workerEntry(info({ lastHeartbeat: NOW - 4001 }), NOW).stale).toBe(true);
    expect(workerEntry(info({ lastHeartbeat: NOW - 9000, heartbeatMs: undefined }), NOW)).toMatchObject({ stale: false, heartbeatMs: null });
    expect(workerEntry(info({ lastHeartbeat: NOW - 10_001, heartbeatMs: undefined }), NOW).stale).toBe(true);
    const stale = view({ lastHeartbeat: NOW - 5000 });
    expect(stale.state).toBe('stale');
    expect(workerView(stale).fields.state).toBe('stale: no heartbeat for 5.0 s (it beats every 2.0 s): stuck, stopped or dead; it drops out after three missed beats');
    const gone: WorkerView = { queue: 'emails', id: 'box:42:0a1b2c3d', at: NOW, state: 'gone', worker: null };
    expect(workerView(gone)).toEqual({ fields: { id: 'box:42:0a1b2c3d', state: 'gone: box:42:0a1b2c3d is no longer registered on emails: it stopped, or missed three heartbeats' }, tasks: [] });

    // Only a live worker's figures are shown: a stale one shows who it was, a gone one its line alone.
    const figures = /<div data-show="figures"( hidden)?>/;
    expect(renderWorker(view(), PAGE).match(figures)?.[1]).toBeUndefined();
    expect(renderWorker(stale, PAGE).match(figures)?.[1]).toBe(' hidden');
    expect(renderWorker(stale, PAGE)).toMatch(/<table class="facts" data-show="who">/);
    expect(renderWorker(gone, PAGE).match(figures)?.[1]).toBe(' hidden');
    expect(renderWorker(gone, PAGE)).toMatch(/<table class="facts" data-show="who" hidden>/);
  });

  it('escapes every field of a registry entry, and links each worker on the queue and list pages by its id', () => {
    const evil = '"><script>alert(1)</script>';
    const v = view({ id: `${evil}:1:x`, host: '<img src=x onerror=alert(2)>', version: '<b>9</b>', current: [{ id: '<i>9</i>', name: '<svg onload=alert(3)>', startedAt: NOW }] });
    const pages = [renderWorker(v, PAGE), renderWorkers({ queue: evil, at: NOW, workers: [v.worker!] }, PAGE)];
    for (const html of pages) {
      expect(html).not.toMatch(/<script>alert|<img|<svg onload|<i>9|<b>9/);
      expect(html.match(/<script/g)).toHaveLength(1);
    }
    expect(pages[0]).toContain('&#60;img src=x onerror=alert(2)&#62;');
    expect(pages[1]).toContain(`<a href="${workerHref(evil, v.id).replace(/&/g, '&#38;').replace(/"/g, '&#34;')}">`);
    expect(workerHref('a b', 'h:1:x')).toBe('worker?queue=a%20b&id=h%3A1%3Ax');

    const q = { name: 'emails', partitions: 1, at: NOW, workerList: [{ id: 'box:42:0a1b2c3d', host: 'box', pid: 42, concurrency: 4, running: 0, done: 0, failed: 0, lastHeartbeat: NOW, current: [] }] };
    const detail = { ...q, counts: { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0, cancelled: 0, unfinished: 0, paused: 0, stalled: 0, blocked: 0 }, state: { shutdown: '', paused: false, partitions: 1, maxsize: 0, putsWaiting: false, joinersWaiting: false }, totals: { added: 0, completed: 0, failed: 0, retried: 0, reclaimed: 0, discarded: 0, cancelled: 0 }, workers: { live: 1, busy: 0, slots: 4, running: 0, desired: null, desiredBy: null, supervisors: 0, supervisedWorkers: 0 }, oldestWaitingMs: 0, finishRate: 0, donePerSec: 0, drainSeconds: 0, partitionCounts: [], throughput: [], limits: { limits: {}, rateBinds: false, concurrencyBinds: false, groupsWaiting: 0, groupsBlocked: 0 }, groups: [] } as unknown as QueueDetail;
    expect(renderQueue(detail, PAGE)).toContain('<td><a href="worker?queue=emails&#38;id=box%3A42%3A0a1b2c3d">box:42:0a1b2c3d</a></td>');
  });

  it('gives the browser view functions that stand alone and render exactly as the server does', () => {
    const standalone = <F>(f: F): F => new Function(`return (${String(f)});`)() as F;
    for (const v of [view(), view({ lastHeartbeat: NOW - 60_000 }), { queue: 'q', id: 'w', at: NOW, state: 'gone' as const, worker: null }]) {
      expect(standalone(workerView)(v)).toEqual(workerView(v));
    }
    const fields = workerView(view()).fields;
    expect(standalone(workerListCells)(fields)).toEqual(workerListCells(fields));
    const list = { queue: 'emails', at: NOW, workers: [view().worker!, view({ id: 'b', running: undefined, current: [] }).worker!] };
    expect(listSummary(list)).toBe('2 live workers, 2 of 8 slots busy');
    expect(standalone(listSummary)(list)).toBe(listSummary(list));
    expect(standalone(workerHref)('a&b', 'i d')).toBe(workerHref('a&b', 'i d'));
    expect(pageScript()).toContain('function workerPage()');
    expect(() => new Function(pageScript())).not.toThrow();
  });
});
