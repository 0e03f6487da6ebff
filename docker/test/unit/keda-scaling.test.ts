import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// What the Kubernetes HPA (which KEDA drives) does with the ScaledObject in docker/k8s, for a few
// backlogs, compared with the worker count that drains the backlog within the target.
//
// The model: each worker finishes `rate` tasks a second, so with n workers the exporter's drain
// estimate is unfinished / (n x rate), capped at DRAIN_CAP (the exporter never reports +Inf). The
// intended count is the smallest that drains within the threshold T: ceil(unfinished / (rate x T)),
// clamped to the manifest's replica bounds. HPA's scale-up and scale-down rate limits (behavior)
// change how fast it gets there, not where it goes, so they are left out.

const manifest = parse(readFileSync(new URL('../../k8s/keda-scaledobject.yaml', import.meta.url), 'utf8')) as {
  spec: {
    minReplicaCount: number;
    maxReplicaCount: number;
    triggers: { type: string; metricType?: string; metadata: { query: string; threshold: string } }[];
  };
};
const trigger = manifest.spec.triggers[0]!;
const MIN = manifest.spec.minReplicaCount;
const MAX = manifest.spec.maxReplicaCount;
const TARGET = Number(trigger.metadata.threshold);
/** The exporter's cap on asyncq_queue_drain_seconds: a day. */
const DRAIN_CAP = 86_400;
/** HPA's default --horizontal-pod-autoscaler-tolerance. */
const TOLERANCE = 0.1;

type MetricType = 'Value' | 'AverageValue';

const clamp = (n: number): number => Math.min(MAX, Math.max(MIN, n));

/** asyncq_queue_drain_seconds with `workers` workers each finishing `rate` tasks a second. */
function drainSeconds(unfinished: number, workers: number, rate: number): number {
  if (unfinished === 0) return 0;
  const perSecond = workers * rate;
  return perSecond > 0 ? Math.min(DRAIN_CAP, unfinished / perSecond) : DRAIN_CAP;
}

/**
 * The replica count the HPA picks for an External metric (what KEDA creates): for Value,
 * ceil(current x metric / target); for AverageValue, ceil(metric / target); either way no change
 * while the usage ratio is within the tolerance of 1, and clamped to the replica bounds.
 */
function hpaDesired(type: MetricType, current: number, metric: number, target: number): number {
  const usageRatio = type === 'Value' ? metric / target : metric / (target * current);
  if (Math.abs(usageRatio - 1) <= TOLERANCE) return clamp(current);
  return clamp(type === 'Value' ? Math.ceil(current * usageRatio) : Math.ceil(metric / target));
}

/** The fewest workers that finish `unfinished` tasks within the target, within the bounds. */
function intended(unfinished: number, rate: number): number {
  return clamp(rate > 0 ? Math.ceil(unfinished / (rate * TARGET)) : Infinity);
}

/** Points: backlog, tasks per second per worker, current workers. */
const points = [
  { unfinished: 6_000, rate: 10, current: 2 }, //   drain 300 s: needs 10
  { unfinished: 12_000, rate: 10, current: 10 }, // drain 120 s: needs 20 (the max)
  { unfinished: 1_200, rate: 10, current: 8 }, //   drain 15 s: 2 are enough
  { unfinished: 900, rate: 2, current: 3 }, //      drain 150 s: needs 8
  { unfinished: 200_000, rate: 5, current: 4 }, //  far behind: the max
  { unfinished: 0, rate: 10, current: 5 }, //       idle: the min
  { unfinished: 500, rate: 0, current: 1 }, //      nothing finishes: the cap, then the max
];

describe('KEDA on asyncq_queue_drain_seconds (docker/k8s/keda-scaledobject.yaml)', () => {
  it('is a Prometheus trigger on the drain time with metricType Value', () => {
    expect(trigger.type).toBe('prometheus');
    expect(trigger.metricType).toBe('Value');
    expect(trigger.metadata.query).toMatch(/^max\(asyncq_queue_drain_seconds\{[^}]*\}\)$/);
    expect(TARGET).toBeGreaterThan(0);
    expect(MIN).toBeGreaterThanOrEqual(1);
    expect(MAX).toBeGreaterThan(MIN);
  });

  it('with Value the HPA picks the worker count that drains the backlog within the target', () => {
    for (const p of points) {
      const metric = drainSeconds(p.unfinished, p.current, p.rate);
      expect(hpaDesired('Value', p.current, metric, TARGET), JSON.stringify({ ...p, metric })).toBe(intended(p.unfinished, p.rate));
    }
  });

  it('with Value a drain time within the 10% tolerance keeps the count, and that count drains within 110% of the target', () => {
    const p = { unfinished: 3_180, rate: 5, current: 10 }; // drain 63.6 s: 10.6 workers would be exact
    const metric = drainSeconds(p.unfinished, p.current, p.rate);
    expect(intended(p.unfinished, p.rate)).toBe(11);
    expect(hpaDesired('Value', p.current, metric, TARGET)).toBe(10);
    expect(metric).toBeLessThanOrEqual(TARGET * (1 + TOLERANCE));
  });

  it('with AverageValue (KEDA\'s default) the HPA ignores the current count and picks the wrong one', () => {
    const wrong = points.filter((p) => {
      const metric = drainSeconds(p.unfinished, p.current, p.rate);
      return hpaDesired('AverageValue', p.current, metric, TARGET) !== intended(p.unfinished, p.rate);
    });
    // Only the idle, the far-behind and the stuck points come out right, where both end on a replica bound.
    expect(wrong.map((p) => p.unfinished)).toEqual([6_000, 12_000, 1_200, 900]);
    // 10 workers with a 120 s drain need 20; AverageValue asks for 2.
    expect(hpaDesired('AverageValue', 10, drainSeconds(12_000, 10, 10), TARGET)).toBe(2);
  });

  it('following its own choices with the backlog unchanged, Value settles on the intended count and AverageValue oscillates', () => {
    const follow = (type: MetricType, unfinished: number, rate: number, start: number, steps: number): number[] => {
      const counts = [start];
      for (let i = 0; i < steps; i++) {
        const n = counts[counts.length - 1]!;
        counts.push(hpaDesired(type, n, drainSeconds(unfinished, n, rate), TARGET));
      }
      return counts;
    };
    expect(follow('Value', 6_000, 10, 2, 4)).toEqual([2, 10, 10, 10, 10]);
    expect(follow('AverageValue', 6_000, 10, 2, 4)).toEqual([2, 5, 2, 5, 2]);
  });
});
