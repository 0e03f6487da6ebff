import { describe, expect, it } from 'vitest';
import { addReading, drainSeconds, MAX_DRAIN_SECONDS, rateOver, SmoothedRate, WindowRate, type CounterReading } from '../../src/queues/rates.js';

describe('rates from monotonic counters (no Redis)', () => {
  it('a counter that moves only at heartbeats gives a steady rate, not bursts and zeros', () => {
    // A worker doing 27 tasks/s reports its done counter every 5 s; it is looked at every second.
    const w = new WindowRate(15_000);
    const seen: number[] = [];
    for (let t = 0; t <= 60; t++) {
      const heartbeat = Math.floor(t / 5) * 5;
      w.add(heartbeat * 1000, heartbeat * 27);
      if (t >= 5) seen.push(w.perSecond!);
    }
    expect(seen.every((r) => Math.abs(r - 27) < 1e-9)).toBe(true);
  });

  it('measures over the window: the oldest reading kept is the last one at or before its start', () => {
    const readings: CounterReading[] = [];
    for (let t = 0; t <= 20; t++) addReading(readings, { at: t * 1000, value: t < 10 ? 0 : (t - 10) * 10 }, 5000);
    expect(readings[0]!.at).toBe(15_000);
    expect(rateOver(readings, 5000)).toBe(10);
    expect(rateOver([{ at: 0, value: 5 }], 5000)).toBeUndefined();
    expect(rateOver([], 5000)).toBeUndefined();
  });

  it('a counter that goes down (a queue created again, a worker restarted) starts over instead of a negative rate', () => {
    const w = new WindowRate(10_000);
    w.add(0, 100);
    w.add(1000, 200);
    w.add(2000, 5);
    expect(w.perSecond).toBeUndefined();
    w.add(3000, 15);
    expect(w.perSecond).toBe(10);
    const s = new SmoothedRate(10_000);
    s.add(0, 100);
    s.add(1000, 200);
    expect(s.add(2000, 5)).toBeUndefined();
    expect(s.add(3000, 15)).toBe(10);
  });

  it('the smoothed rate follows a step change gradually, weighing intervals by the time they cover', () => {
    const s = new SmoothedRate(60_000);
    let v = 0;
    for (let t = 0; t <= 300; t += 15) s.add(t * 1000, (v += 15 * 100)); // 100/s for 5 min
    expect(s.perSecond).toBeCloseTo(100, 6);
    // Workers stop: finishes stop. The estimate decays, by exp(-15/60) a scrape, never to a cliff.
    const after: number[] = [];
    for (let t = 315; t <= 420; t += 15) after.push(s.add(t * 1000, v)!);
    expect(after[0]).toBeCloseTo(100 * Math.exp(-0.25), 0);
    for (let i = 1; i < after.length; i++) expect(after[i]!).toBeLessThan(after[i - 1]!);
    // One scrape 60 s late weighs as much as four 15 s ones.
    const a = new SmoothedRate(60_000);
    const b = new SmoothedRate(60_000);
    for (const r of [a, b]) (r.add(0, 0), r.add(15_000, 1500));
    a.add(75_000, 1500);
    for (const t of [30, 45, 60, 75]) b.add(t * 1000, 1500);
    expect(a.perSecond).toBeCloseTo(b.perSecond!, 6);
  });

  it('the first minutes are the time-weighted mean of what was seen: a short first interval does not rule', () => {
    // The exporter reads the counters at start, then Prometheus scrapes 15 s later and on.
    const s = new SmoothedRate(60_000, 1000);
    s.add(0, 0);
    expect(s.add(500, 0)).toBeUndefined(); // too soon after the last reading: skipped
    s.add(1000, 0); // a second with nothing finished
    const after = s.add(16_000, 15 * 30); // then 30/s
    expect(after).toBeGreaterThan(30 * 0.9);
    expect(after).toBeLessThan(30);
  });

  it('drain time is finite: 0 when nothing is left, the cap when nothing finishes', () => {
    expect(drainSeconds(0, undefined)).toBe(0);
    expect(drainSeconds(100, 20)).toBe(5);
    expect(drainSeconds(100, 0)).toBe(MAX_DRAIN_SECONDS);
    expect(drainSeconds(100, undefined)).toBe(MAX_DRAIN_SECONDS);
    expect(drainSeconds(1e12, 1)).toBe(MAX_DRAIN_SECONDS);
    expect(drainSeconds(10, Number.NaN, 60)).toBe(60);
  });
});
