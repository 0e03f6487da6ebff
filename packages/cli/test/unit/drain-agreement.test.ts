// One truth (issue 23): the exporter, the dashboard and `watch` fed the same readings of a queue
// (a scripted burst, one reading a second, no Redis and no clock) give the same drain time, and
// `watch` names a paused, stuck or gone queue instead of showing a number.
import { describe, expect, it } from 'vitest';
import { QueueTrend } from '../../src/dashboard/queue-trend.js';
import { withDrain } from '../../src/exporter/queue-snapshots.js';
import { emptySnapshot, type QueueSnapshot } from '../../src/queues/queue-snapshot.js';
import type { QueueReader } from '../../src/queues/queue-reader.js';
import { DrainMeter, drainGauge, MAX_DRAIN_SECONDS } from '../../src/queues/rates.js';
import { QueueWatcher } from '../../src/watch/watch-model.js';

interface Step {
  at: number;
  snapshot?: QueueSnapshot;
}

/**
 * A queue over 7 minutes: 6,000 tasks put at once, finished at 40/s, then 10/s, then paused for a
 * minute, resumed at 25/s, then nothing finishes for 2 minutes (stuck) and the queue is deleted.
 */
function burst(): Step[] {
  const steps: Step[] = [];
  const t0 = 1_800_000_000_000;
  let finished = 0;
  const put = 6000;
  for (let s = 0; s <= 420; s++) {
    const rate = s < 60 ? 40 : s < 120 ? 10 : s < 180 ? 0 : s < 240 ? 25 : 0;
    finished = Math.min(put, finished + rate);
    const at = t0 + s * 1000;
    if (s > 400) {
      steps.push({ at });
      continue;
    }
    const snap = emptySnapshot('burst', at);
    const unfinished = put - finished;
    const active = Math.min(16, unfinished);
    snap.counts = { ...snap.counts, waiting: unfinished - active, active, completed: finished, unfinished };
    snap.totals = { ...snap.totals, added: put, completed: finished };
    snap.state = { ...snap.state, paused: s >= 120 && s < 180 };
    steps.push({ at, snapshot: snap });
  }
  return steps;
}

describe('one drain estimate for the exporter, the dashboard and watch', () => {
  it('a scripted burst: the three agree within 10% at every sample, and watch names paused, stuck and gone', () => {
    const exporterMeter = new DrainMeter();
    const trend = new QueueTrend();
    const watcher = new QueueWatcher({ name: 'burst' } as QueueReader);
    const states = new Set<string>();
    let compared = 0;
    for (const { at, snapshot } of burst()) {
      const watched = watcher.fromSnapshot(snapshot, [], { wait: [], run: [] });
      states.add(watched.drain.state);
      if (!snapshot) {
        expect(watched.drain.state, `${at}`).toBe('gone');
        expect(watched.drainSeconds).toBeNull();
        continue;
      }
      const exported = withDrain(exporterMeter, snapshot);
      const gauge = drainGauge(exported.drain, snapshot.counts.unfinished, exported.finishedPerSec);
      trend.observe(snapshot.totals, at);
      if (snapshot.state.paused) {
        expect(watched.drain.state).toBe('paused');
        expect(gauge).toBe(MAX_DRAIN_SECONDS);
        continue;
      }
      if (watched.drain.state !== 'draining') continue;
      const dashboard = trend.drainSeconds(snapshot.counts.unfinished);
      const seconds = watched.drainSeconds!;
      for (const [who, value] of [['exporter', gauge], ['dashboard', dashboard]] as const) {
        expect(Math.abs(value - seconds) / seconds, `${who} ${value} s against watch ${seconds} s at +${(at % 1e6) / 1000} s`).toBeLessThanOrEqual(0.1);
      }
      compared++;
    }
    expect(compared).toBeGreaterThan(150);
    expect([...states].sort()).toEqual(['draining', 'gone', 'measuring', 'paused', 'stuck']);
  });
});

describe("watch's per-worker rates", () => {
  it('add up to the queue done/s, split as the workers report', () => {
    const watcher = new QueueWatcher({ name: 'split' } as QueueReader, 5000, 15_000);
    const t0 = 1_800_000_000_000;
    const base = { host: 'h', queue: 'split', concurrency: 8, failed: 0, startedAt: t0 };
    for (let s = 0; s <= 40; s++) {
      const at = t0 + s * 1000;
      const snap = emptySnapshot('split', at);
      snap.totals = { ...snap.totals, completed: 61 * s };
      // Heartbeats every 5 s (late), worker a doing twice what b does: together 46/s, not the 61/s Redis counts.
      const beat = t0 + Math.floor(s / 5) * 5000;
      const workers = [
        { ...base, id: 'h:1:aaaaaaaa', pid: 1, done: Math.round((46 * 2) / 3 * ((beat - t0) / 1000)), lastHeartbeat: beat },
        { ...base, id: 'h:2:bbbbbbbb', pid: 2, done: Math.round((46 / 3) * ((beat - t0) / 1000)), lastHeartbeat: beat },
      ];
      const sample = watcher.fromSnapshot(snap, workers, { wait: [], run: [] });
      if (s < 10) continue;
      const sum = sample.workers.reduce((a, w) => a + w.perSec, 0);
      expect(sum, `+${s} s`).toBeCloseTo(sample.donePerSec, 6);
      expect(sample.workers[0]!.perSec / sample.workers[1]!.perSec).toBeCloseTo(2, 1);
    }
  });
});
