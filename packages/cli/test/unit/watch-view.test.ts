import { describe, expect, it } from 'vitest';
import type { QueueSample } from '../../src/watch/watch-model.js';
import { percentiles } from '../../src/watch/watch-model.js';
import { renderView } from '../../src/watch/watch-view.js';

function sample(queue: string, o: Partial<QueueSample> = {}): QueueSample {
  return {
    queue,
    at: 0,
    enqueuedPerSec: 120.5,
    donePerSec: 118.25,
    failedPerSec: 0.5,
    counts: { waiting: 30, delayed: 2, active: 16, completed: 1000, failed: 3, cancelled: 0, unfinished: 48 },
    totals: { added: 1051, completed: 1000, failed: 3, retried: 1, reclaimed: 0, discarded: 0, cancelled: 0 },
    oldestWaitingMs: 1500,
    drainSeconds: 0.4,
    drain: { state: 'draining', seconds: 0.4, perSecond: 120, words: '0 s' },
    exists: true,
    paused: false,
    shutdown: '',
    waitMs: { p50: 12, p99: 250 },
    runMs: { p50: 100, p99: 1800 },
    workers: Array.from({ length: 8 }, (_, i) => ({ id: `host-a:${1000 + i}:0a1b2c3d`, host: 'host-a', pid: 1000 + i, concurrency: 16, done: 125, perSec: 14.8 })),
    ...o,
  };
}

const history = Array.from({ length: 90 }, (_, i) => 100 + 20 * Math.sin(i / 5));
const view = (samples: QueueSample[], rows: number, cols: number): string[] =>
  renderView(samples, samples.map(() => history), { heading: 'asyncq watch', rows, cols, color: false, time: new Date(0) }).split('\n');

describe('watch view (no Redis)', () => {
  it('one queue on a tall terminal: rates, depth, latency, drain, workers and a chart, within 80 columns', () => {
    const lines = view([sample('emails')], 40, 80);
    const text = lines.join('\n');
    expect(text).toMatch(/enqueued\/s\s+121\s+done\/s\s+118\s+failed\/s\s+0\.5/);
    expect(text).toContain('waiting 30  delayed 2  active 16  unfinished 48  completed 1000  failed 3');
    expect(text).toContain('wait p50 12ms p99 250ms   run p50 100ms p99 1.8s   workers 8');
    expect(text).toContain('oldest waiting 1.5s   drain ~400ms');
    expect(text).toMatch(/host-a:1000:0a1b2c3d\s+c=16  done 125  14\.8\/s/);
    expect(text).toContain('... and 2 more workers');
    expect(text).toMatch(/done\/s over the last 60 samples/);
    expect(lines.length).toBeLessThanOrEqual(39);
    expect(lines.every((l) => l.length <= 80)).toBe(true);
  });

  it('fits 80x24 with several queues: less detail, then one line per queue', () => {
    for (const n of [1, 2, 3, 6, 30]) {
      const samples = Array.from({ length: n }, (_, i) => sample(`queue-${i}`));
      const lines = view(samples, 24, 80);
      expect(lines.length, `${n} queues`).toBeLessThanOrEqual(23);
      expect(lines.every((l) => l.length <= 80), `${n} queues`).toBe(true);
    }
    const compact = view(Array.from({ length: 6 }, (_, i) => sample(`queue-${i}`)), 24, 80);
    expect(compact[1]).toMatch(/^queue\s+put\/s\s+done\/s\s+fail\/s\s+waiting\s+active\s+unfinished\s+workers\s+drain$/);
    expect(compact.filter((l) => /^queue-\d\s+121\s+118\s+0\.5\s+30\s+16\s+48\s+8\s+400ms$/.test(l))).toHaveLength(6);
    const many = view(Array.from({ length: 30 }, (_, i) => sample(`queue-${i}`)), 24, 80);
    expect(many.at(-1)).toMatch(/^\.\.\. 10 more queues: make the terminal taller$/);
    // Narrow and short: still inside the terminal.
    const tiny = view([sample('emails')], 10, 40);
    expect(tiny.length).toBeLessThanOrEqual(9);
    expect(tiny.every((l) => l.length <= 40)).toBe(true);
  });

  it('shows each partition of a partitioned queue, a pause and a shutdown, and the reconnecting line', () => {
    const partitions = [0, 1, 2].map((partition) => ({ partition, waiting: 10, delayed: 0, active: 5, completed: 0, failed: 0, cancelled: 0, unfinished: 15 }));
    const text = renderView([sample('parts', { partitions, paused: true, shutdown: 'graceful' })], [history], {
      heading: 'asyncq watch',
      rows: 50,
      cols: 80,
      color: false,
      status: 'reconnecting to Redis at 127.0.0.1:6379... (no answer since 12:00:00: cannot reach Redis)',
    });
    expect(text.split('\n')[1]).toMatch(/^reconnecting to Redis at 127\.0\.0\.1:6379\.\.\./);
    expect(text).toContain('parts  [paused, shut down (graceful)]');
    for (const p of [0, 1, 2]) expect(text).toContain(`partition ${p}: waiting 10  delayed 0  active 5  unfinished 15`);
  });

  it('text from Redis cannot move the cursor or change colours', () => {
    const hostile = sample('q', { workers: [{ id: 'evil\x1b[2J\x1b[31m:1:0a1b2c3d', host: 'evil\x1b[2J\x1b[31m', pid: 1, concurrency: 1, done: 0, perSec: 0 }] });
    const text = renderView([hostile], [history], { heading: 'asyncq watch', rows: 40, cols: 80, color: false });
    expect(text).not.toContain('\x1b');
    expect(text).toContain('evil\\x1b[2J\\x1b[31m');
  });

  it('percentiles are nearest-rank, null when there is nothing', () => {
    expect(percentiles([])).toEqual({ p50: null, p99: null });
    expect(percentiles(Array.from({ length: 100 }, (_, i) => 100 - i))).toEqual({ p50: 51, p99: 100 });
  });
});
