import { describe, expect, it } from 'vitest';
import type { QueueSummary } from '../../src/dashboard/dashboard-types.js';
import { groupFailures, normaliseError } from '../../src/dashboard/failure-groups.js';
import { historyLayout } from '../../src/dashboard/history-chart.js';
import { chartPoints, queueRow } from '../../src/dashboard/queue-view.js';

const NOW = 1_700_000_000_000;

function summary(over: Partial<QueueSummary> = {}, counts: Partial<QueueSummary['counts']> = {}): QueueSummary {
  return {
    name: 'emails',
    partitions: 1,
    at: NOW,
    counts: { waiting: 40, delayed: 2, active: 3, completed: 100, failed: 1, cancelled: 0, unfinished: 45, paused: 0, stalled: 0, blocked: 0, ...counts },
    state: { shutdown: '', paused: false, partitions: 1, maxsize: 0, putsWaiting: false, joinersWaiting: false },
    totals: { added: 146, completed: 100, failed: 1, retried: 2, reclaimed: 0, discarded: 0, cancelled: 0 },
    workers: { live: 2, busy: 1, slots: 8, running: 3, desired: 4, desiredBy: 'manual', supervisors: 1, supervisedWorkers: 2 },
    oldestWaitingMs: 125_000,
    finishRate: 3,
    donePerSec: 2.5,
    drainSeconds: 15,
    drain: '15 s',
    ...over,
  };
}

describe('the console views', () => {
  it('names the state of a queue rather than showing a number: paused, shut down, stuck, no workers, idle', () => {
    expect(queueRow(summary()).cells).toEqual(['emails', 'running', '42', '45', '1', '180', '2 min 5 s', '2 of 4']);
    expect(queueRow(summary({ state: { ...summary().state, paused: true } })).state).toBe('paused');
    expect(queueRow(summary({ state: { ...summary().state, shutdown: 'graceful' } })).state).toBe('shut down');
    expect(queueRow(summary({ finishRate: 0 }, { active: 0 })).state).toBe('stuck');
    expect(queueRow(summary({ workers: { ...summary().workers, live: 0 } })).state).toBe('no workers');
    expect(queueRow(summary({}, { unfinished: 0, waiting: 0, delayed: 0, active: 0 })).cells.slice(1, 3)).toEqual(['idle', '0']);
    // Sort keys are numbers where the column is a number: no sort by text of "1,000" against "999".
    expect(queueRow(summary({}, { waiting: 1000 })).keys.slice(2, 4)).toEqual([1002, 45]);
  });

  it('groups errors that differ only by numbers and ids, and keeps different ones apart', () => {
    expect(normaliseError('timeout after 3012 ms on job 7f3a9c0e1b2d')).toBe('timeout after <n> ms on job <id>');
    expect(normaliseError('user 8c1f0e2a-93b1-4d7e-a1b2-000000000001 not found\n    at stack')).toBe('user <id> not found');
    expect(normaliseError('balance -12.50 below zero')).toBe('balance <n> below zero');
    expect(normaliseError('host db-3 unreachable')).toBe('host db-<n> unreachable');
    expect(normaliseError('')).toBe('(no message)');
    const t = (id: string, error: string, at: number) => ({ id, name: 't', data: null, state: 'failed' as const, attemptsMade: 1, timestamp: at - 10, finishedAt: at, error });
    const groups = groupFailures(
      new Map([
        ['a', [t('1', 'timeout after 5 ms', NOW), t('2', 'timeout after 7 ms', NOW - 5000), t('3', 'disk full', NOW - 100)]],
        ['b', [t('9', 'timeout after 9 ms', NOW - 50)]],
      ]),
    );
    expect(groups.map((g) => [g.queue, g.key, g.count, g.firstSeen, g.lastSeen, g.taskIds])).toEqual([
      ['a', 'timeout after <n> ms', 2, NOW - 5000, NOW, ['1', '2']],
      ['b', 'timeout after <n> ms', 1, NOW - 50, NOW - 50, ['9']],
      ['a', 'disk full', 1, NOW - 100, NOW - 100, ['3']],
    ]);
  });

  it('shows a peak of 0 on a queue that never ran a task, not 1.0/s', () => {
    expect(chartPoints([{ at: NOW - 2000, done: 0, failed: 0 }, { at: NOW, done: 0, failed: 0 }], NOW, 300_000, 600, 120).peak).toBe(0);
  });

  it('lays out a history chart with a round y maximum, three y ticks and five UTC time ticks', () => {
    const points = Array.from({ length: 60 }, (_, i) => ({ at: NOW - (59 - i) * 60_000, completed: i === 59 ? 170 : 10, failed: 1, p50: 50, p95: i === 30 ? 2500 : null }));
    const counts = historyLayout(points, ['completed', 'failed'], '', 600, 120);
    expect(counts.yTicks.map((t) => t.label)).toEqual(['0', '100', '200']);
    expect(counts.yTicks.map((t) => t.at)).toEqual([120, 60, 0]);
    expect(counts.xTicks.map((t) => t.label)).toEqual(['21:14', '21:29', '21:44', '21:58', '22:13']);
    expect(counts.lines.completed!.split(' ').at(-1)).toBe('600.0,18.0');
    const times = historyLayout(points, ['p50', 'p95'], 'ms', 600, 120);
    expect(times.yTicks.map((t) => t.label)).toEqual(['0 ms', '1.3 s', '2.5 s']);
    expect(times.lines.p95!.split(' ')[0]).toBe('0.0,120.0'); // a minute without completions sits at 0
    const hours = historyLayout(points.map((p, i) => ({ ...p, at: NOW - (59 - i) * 3_600_000 })), ['completed'], '', 600, 120);
    expect(hours.xTicks[0]!.label).toMatch(/^\d\d-\d\d \d\d:00$/);
  });
});
