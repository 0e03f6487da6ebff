import { describe, expect, it } from 'vitest';
import { decideScale, describeDecision, type AutoscalePolicy, type AutoscaleSample, type AutoscaleState } from '../../src/fleet/autoscale.js';

const policy: AutoscalePolicy = { min: 1, max: 8, drainTargetS: 60, cooldownS: 30 };

/**
 * Feeds samples one by one, as a fleet does (a sample without `desired` gets the count decided
 * last, as Redis would hold it); returns every decision's target (undefined: kept) and the last state.
 */
function replay(p: AutoscalePolicy, samples: AutoscaleSample[], fallback = 1): { to: (number | undefined)[]; state: AutoscaleState; lines: string[] } {
  let state: AutoscaleState = { samples: [] };
  let desired: number | undefined;
  const to: (number | undefined)[] = [];
  const lines: string[] = [];
  for (const s of samples) {
    const r = decideScale(p, state, s.desired || desired === undefined ? s : { ...s, desired: { count: desired, by: 'autoscaler' } }, fallback);
    state = r.state;
    to.push(r.decision.to);
    if (r.decision.to !== undefined) {
      desired = r.decision.to;
      lines.push(describeDecision(r.decision, p));
    }
  }
  return { to, state, lines };
}

interface World {
  /** Tasks put per second at time t (s). */
  inflow: (t: number) => number;
  /** Tasks one worker finishes per second when busy. */
  perWorker: number;
  concurrency: number;
  backlog?: number;
  workers?: number;
  /** A new worker process takes this long to start, ms. */
  startMs?: number;
}

/**
 * A queue served by a fleet that follows the decisions, sampled every 2 s as a fleet samples it
 * (counters as Redis keeps them). Returns the desired count after each step.
 */
function simulate(p: AutoscalePolicy, world: World, seconds: number): { counts: number[]; changes: number; lines: string[] } {
  const stepMs = 2000;
  let unfinished = world.backlog ?? 0;
  let added = unfinished;
  let finished = 0;
  let desired: number | undefined;
  let live = world.workers ?? 1;
  const starting: number[] = []; // ready times of workers starting
  let state: AutoscaleState = { samples: [] };
  const counts: number[] = [];
  const lines: string[] = [];
  let changes = 0;
  for (let at = 0; at <= seconds * 1000; at += stepMs) {
    const arrivals = world.inflow(at / 1000) * (stepMs / 1000);
    added += arrivals;
    unfinished += arrivals;
    const done = Math.min(unfinished, live * world.perWorker * (stepMs / 1000));
    finished += done;
    unfinished -= done;
    const waiting = Math.max(0, unfinished - live * world.concurrency);
    const sample: AutoscaleSample = {
      at,
      unfinished: Math.round(unfinished),
      waiting: Math.round(waiting),
      added: Math.round(added),
      finished: Math.round(finished),
      workers: live,
      ...(desired === undefined ? {} : { desired: { count: desired, by: 'autoscaler' as const } }),
    };
    const r = decideScale(p, state, sample, world.workers ?? 1);
    state = r.state;
    if (r.decision.to !== undefined) {
      desired = r.decision.to;
      changes++;
      lines.push(describeDecision(r.decision, p));
    }
    const target = desired ?? world.workers ?? 1;
    while (starting.length > 0 && starting[0]! <= at) (starting.shift(), live++);
    if (live + starting.length > target) {
      const drop = live + starting.length - target;
      starting.splice(0, Math.min(drop, starting.length));
      live = Math.min(live, target);
    }
    while (live + starting.length < target) starting.push(at + (world.startMs ?? 2000));
    counts.push(target);
  }
  return { counts, changes, lines };
}

describe('autoscale decision (no Redis)', () => {
  it('grows under a backlog at once, and shrinks once it is gone and the cooldown passed', () => {
    const p = { ...policy, drainTargetS: 10, max: 8 };
    const { counts, lines } = simulate(p, { inflow: () => 0, perWorker: 27, concurrency: 16, backlog: 6000 }, 300);
    expect(counts[1]).toBe(8); // 6000 tasks to drain in 10 s at 27/s per worker: as many as allowed
    expect(lines[0]).toMatch(/^autoscale: 1 -> 8 workers \(backlog\): \d+ unfinished, 0\.0 put\/s, 27\.0 tasks\/s per worker over 30 s \(Redis counters\), drain target 10 s$/);
    const drainedAt = counts.indexOf(1, 2);
    expect(drainedAt).toBeGreaterThan(0);
    expect(counts.at(-1)).toBe(1);
    expect(lines.at(-1)).toMatch(/-> 1 workers \((idle|spare)\)/);
  });

  it('does not flap under a steady flow: it settles on enough workers and stays there', () => {
    // The recorded case: 100 tasks/s arrive, a worker does 27/s. Backlog-only sizing went
    // 1 -> 4 -> 1 -> 4; with the flow counted in it settles on ceil(100 / 27) = 4 (or one more).
    const { counts, changes } = simulate(policy, { inflow: () => 100, perWorker: 27, concurrency: 16 }, 900);
    const settled = counts.slice(counts.length / 3);
    expect(new Set(settled).size).toBe(1);
    expect(settled[0]).toBeGreaterThanOrEqual(4);
    expect(settled[0]).toBeLessThanOrEqual(5);
    expect(changes).toBeLessThanOrEqual(3);
    // And when the flow stops, it goes down to min, once.
    const stop = simulate(policy, { inflow: (t) => (t < 300 ? 100 : 0), perWorker: 27, concurrency: 16 }, 600);
    expect(stop.counts.at(-1)).toBe(1);
    expect(stop.changes).toBeLessThanOrEqual(4);
  });

  it('a flow that wanders across a worker boundary stays inside the hysteresis band instead of toggling', () => {
    // 108/s is exactly 4 workers of 27/s: a flow going 104 <-> 112 a minute at a time asks for 4,
    // then 5, then 4 again. Growing to 5 is right; going back to 4 each time it dips is the flap.
    for (const flow of [100, 108, 116, 135]) {
      const wander = (t: number): number => flow + (Math.floor(t / 60) % 2 === 0 ? 4 : -4);
      const { counts } = simulate(policy, { inflow: wander, perWorker: 27, concurrency: 16 }, 1200);
      expect(new Set(counts.slice(counts.length / 3)).size, `flow ${flow}`).toBe(1);
    }
  });

  it('rates come from the Redis counters over the window, whatever workers come and go', () => {
    // Recorded samples (2 s apart) of a fleet going 1 -> 4 workers: new workers start at 0 and
    // heartbeats lag, but the queue's finished counter grows 27/s per live worker throughout.
    const samples: AutoscaleSample[] = [];
    let finished = 0;
    const workersAt = [1, 1, 1, 2, 4, 4, 4, 4, 4, 4, 4, 4];
    workersAt.forEach((workers, i) => {
      finished += i === 0 ? 0 : workersAt[i - 1]! * 27 * 2;
      samples.push({ at: i * 2000, unfinished: 5000, waiting: 4900, added: 5000, finished, workers, desired: { count: 4, by: 'autoscaler' } });
    });
    let state: AutoscaleState = { samples: [] };
    let perWorker: number | undefined;
    for (const s of samples) ({ state, decision: { figures: { perWorker } } } = decideScale(policy, state, s, 1));
    // Within 10% (live workers are averaged over the window); a heartbeat-based rate said 0.5.
    expect(perWorker).toBeGreaterThan(27 * 0.9);
    expect(perWorker).toBeLessThan(27 * 1.1);
  });

  it('a count set by hand wins until it is cleared', () => {
    const base = { unfinished: 50_000, waiting: 49_000, added: 50_000, workers: 2 };
    const manual = { count: 2, by: 'manual' as const };
    const samples: AutoscaleSample[] = Array.from({ length: 20 }, (_, i) => ({ ...base, at: i * 2000, finished: i * 54, desired: manual }));
    expect(replay(policy, samples).to.every((t) => t === undefined)).toBe(true);
    // Cleared (asyncq scale q --auto): the autoscaler takes over at the next sample.
    samples.push({ ...base, at: 40_000, finished: 20 * 54 });
    const { to, lines } = replay(policy, samples);
    expect(to.at(-1)).toBe(8);
    expect(lines).toHaveLength(1);
  });

  it('shrinks only after the cooldown, and never right after growing', () => {
    const idle = (at: number, desired = 4): AutoscaleSample => ({ at, unfinished: 0, waiting: 0, added: 100, finished: 100, workers: desired, desired: { count: desired, by: 'autoscaler' } });
    const samples = Array.from({ length: 20 }, (_, i) => idle(i * 2000));
    const { to } = replay(policy, samples);
    expect(to.findIndex((t) => t !== undefined)).toBe(15); // 30 s after the first idle sample
    expect(to[15]).toBe(1);
    // Grown at t=0: an idle spell right after must wait for the cooldown since that change too.
    let state: AutoscaleState = { samples: [], lastChangeAt: 10_000 };
    const seen: (number | undefined)[] = [];
    for (const s of Array.from({ length: 25 }, (_, i) => idle(i * 2000))) {
      const r = decideScale(policy, state, s, 1);
      state = r.state;
      seen.push(r.decision.to);
    }
    expect(seen.findIndex((t) => t !== undefined) * 2000).toBeGreaterThanOrEqual(40_000);
  });

  it('bounds, a first worker for a backlog, and busy workers that finish nothing for a window', () => {
    const s = (at: number, o: Partial<AutoscaleSample> = {}): AutoscaleSample => ({ at, unfinished: 10, waiting: 5, added: 10, finished: 0, workers: 1, ...o });
    expect(replay({ ...policy, min: 2 }, [s(0)]).to).toEqual([2]);
    expect(replay({ ...policy, max: 3 }, [s(0, { desired: { count: 6, by: 'autoscaler' } })]).to).toEqual([3]);
    expect(replay({ ...policy, min: 0 }, [s(0, { workers: 0 })], 0).to).toEqual([1]);
    // Tasks longer than the window: nothing finishes, but every slot is busy and tasks wait.
    const stalled = replay(policy, Array.from({ length: 40 }, (_, i) => s(i * 2000)));
    expect(stalled.to.filter((t) => t !== undefined)).toEqual([2, 3]);
    expect(stalled.lines[0]).toMatch(/1 -> 2 workers \(stalled\): 10 unfinished, 0\.0 put\/s, 0\.0 tasks\/s per worker/);
  });

  it('a queue created again (counters went down) starts the window over', () => {
    const a: AutoscaleSample = { at: 0, unfinished: 0, waiting: 0, added: 1000, finished: 1000, workers: 1 };
    const b: AutoscaleSample = { at: 2000, unfinished: 5, waiting: 0, added: 5, finished: 0, workers: 1 };
    const r = decideScale(policy, decideScale(policy, { samples: [] }, a, 1).state, b, 1);
    expect(r.state.samples).toEqual([b]);
    expect(r.decision.figures.perWorker).toBeUndefined();
  });
});
