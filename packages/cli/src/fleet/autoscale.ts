import { rateOver, type CounterReading } from '../queues/rates.js';

/** Bounds and targets of `asyncq fleet --autoscale`. */
export interface AutoscalePolicy {
  min: number;
  max: number;
  /** Seconds the backlog should take to drain. */
  drainTargetS: number;
  /** Seconds a lower count must stay enough, and since the last change, before the fleet shrinks. */
  cooldownS: number;
  /** The window rates are measured over, ms. @defaultValue 30000 */
  windowMs?: number;
  /** The least time between two growth steps, ms. @defaultValue 5000 (or the cooldown, when shorter) */
  upEveryMs?: number;
}

/** One look at the queue, as the autoscaler samples it: everything it decides on. */
export interface AutoscaleSample {
  /** ms since the epoch */
  at: number;
  /** Tasks waiting, delayed or running. */
  unfinished: number;
  /** Tasks ready that no worker took: above 0, every worker slot is busy. */
  waiting: number;
  /** Tasks ever put (the queue's Redis counter, `totals().added`). */
  added: number;
  /** Tasks ever finished: completed plus failed for good (the Redis counters). */
  finished: number;
  /** Live workers, by heartbeat. */
  workers: number;
  /** The desired count stored in Redis and who set it; undefined when none is set. */
  desired?: { count: number; by: 'manual' | 'autoscaler' };
}

/** What the autoscaler remembers between samples: plain data, so a decision is a pure function. */
export interface AutoscaleState {
  /** The samples within the rate window, oldest first. */
  samples: AutoscaleSample[];
  /** Tasks per second one worker finished over the last window in which every slot was busy. */
  capacity?: number;
  /** Since when a lower count has been enough, and the largest such count since then. */
  low?: { since: number; count: number };
  /** When the count last changed. */
  lastChangeAt?: number;
}

/** The figures a decision was made on, for its log line. */
export interface AutoscaleFigures {
  unfinished: number;
  /** Put per second over the window. */
  enqueuedPerSec: number;
  /** Finished per second per live worker over the window (undefined: not measured yet). */
  perWorker?: number;
  /** The per-worker rate the decision used: the measured one, or the capacity measured while busy if higher. */
  capacity?: number;
}

/** A decision: `to` is the new desired count, undefined to keep `from`. */
export interface AutoscaleDecision {
  from: number;
  to?: number;
  /**
   * Why: `backlog` (more capacity needed), `stalled` (busy workers finished nothing for a window),
   * `idle` (nothing to do), `spare` (fewer workers are enough), `bounds` (outside min..max);
   * kept for `manual` (a count set by hand), `no rate yet`, `cooling down` or `steady`.
   */
  why: 'backlog' | 'idle' | 'spare' | 'manual' | 'bounds' | 'no rate yet' | 'stalled' | 'steady' | 'cooling down';
  figures: AutoscaleFigures;
}

/** A lower count must leave this much spare capacity before the fleet shrinks to it: the hysteresis band. */
export const SHRINK_HEADROOM = 1.25;

/**
 * One autoscaling decision, a pure function of the policy, what was seen before (`state`) and a new
 * sample. The fleet needs the capacity to absorb what arrives and drain the backlog within the
 * target: `need = enqueued/s + unfinished / drainTarget` tasks a second, at `capacity` per worker,
 * where `capacity` is the rate per worker over the window from the Redis counters (finished tasks
 * over worker-seconds), or the rate measured the last time every slot was busy, if higher (an idle
 * fleet's rate says how much work came, not how much it could do).
 *
 * - Grow at once to `ceil(need / capacity)` when that is more than now (at most every `upEveryMs`).
 * - Shrink to `ceil(need * 1.25 / capacity)` only once that lower count has been enough for
 *   `cooldownS` and the last change is `cooldownS` old: between the two there is a band where the
 *   count holds, so it does not flap.
 * - A count set by hand (`desired.by === 'manual'`) is left alone until it is cleared.
 * - Always within `[min, max]`; with tasks and no worker, at least one.
 */
export function decideScale(
  policy: AutoscalePolicy,
  previous: AutoscaleState,
  sample: AutoscaleSample,
  fallback: number,
): { state: AutoscaleState; decision: AutoscaleDecision } {
  const windowMs = policy.windowMs ?? 30_000;
  const samples = windowOf(previous.samples, sample, windowMs);
  const state: AutoscaleState = { ...previous, samples };
  const from = sample.desired?.count ?? fallback;
  const m = measure(samples, windowMs);
  if (m.saturated && m.perWorker !== undefined && m.perWorker > 0) state.capacity = m.perWorker;
  const capacity = Math.max(m.perWorker ?? 0, state.capacity ?? 0) || undefined;
  const figures: AutoscaleFigures = { unfinished: sample.unfinished, enqueuedPerSec: m.enqueuedPerSec, perWorker: m.perWorker, capacity };
  const keep = (why: AutoscaleDecision['why']): { state: AutoscaleState; decision: AutoscaleDecision } => ({ state, decision: { from, why, figures } });
  const change = (to: number, why: AutoscaleDecision['why']): { state: AutoscaleState; decision: AutoscaleDecision } => {
    if (to === from) return keep(why);
    return { state: { ...state, low: undefined, lastChangeAt: sample.at }, decision: { from, to, why, figures } };
  };

  if (sample.desired?.by === 'manual') return { state: { ...state, low: undefined }, decision: { from, why: 'manual', figures } };
  const clamp = (n: number): number => Math.min(policy.max, Math.max(policy.min, n));
  if (clamp(from) !== from) return change(clamp(from), 'bounds');

  const sinceChange = state.lastChangeAt === undefined ? Infinity : sample.at - state.lastChangeAt;
  const need = m.enqueuedPerSec + sample.unfinished / policy.drainTargetS;
  const atLeast = sample.unfinished > 0 ? 1 : 0;
  if (capacity === undefined && need > 0) {
    // Nothing finished yet in the window. Tasks and no worker: start one. A full window of ready
    // tasks and busy workers finishing nothing (tasks longer than the window): one more at a time.
    state.low = undefined;
    if (from === 0) return change(clamp(1), 'backlog');
    if (m.spanMs >= windowMs && m.saturated && sample.workers > 0 && sinceChange >= windowMs) return change(clamp(from + 1), 'stalled');
    return keep('no rate yet');
  }
  const up = capacity === undefined ? policy.min : clamp(Math.max(Math.ceil(need / capacity), atLeast));
  if (up > from) {
    state.low = undefined;
    return sinceChange >= (policy.upEveryMs ?? Math.min(5000, policy.cooldownS * 1000)) ? change(up, 'backlog') : keep('cooling down');
  }
  const down = capacity === undefined ? policy.min : clamp(Math.max(Math.ceil((need * SHRINK_HEADROOM) / capacity), atLeast));
  if (down >= from) {
    state.low = undefined;
    return keep('steady');
  }
  // Shrink to the largest count that was enough throughout the cooldown.
  state.low = { since: state.low?.since ?? sample.at, count: Math.max(state.low?.count ?? down, down) };
  const cooldownMs = policy.cooldownS * 1000;
  if (sample.at - state.low.since < cooldownMs || sinceChange < cooldownMs) return keep('cooling down');
  return change(state.low.count, need === 0 ? 'idle' : 'spare');
}

/** The samples a decision looks at: the window, and nothing from before a counter went down. */
function windowOf(previous: readonly AutoscaleSample[], sample: AutoscaleSample, windowMs: number): AutoscaleSample[] {
  const last = previous.at(-1);
  if (last && sample.at <= last.at) return [...previous];
  const restarted = last && (sample.finished < last.finished || sample.added < last.added);
  const out = restarted ? [sample] : [...previous, sample];
  while (out.length > 2 && out[1]!.at <= sample.at - windowMs) out.shift();
  return out;
}

interface Measured {
  spanMs: number;
  enqueuedPerSec: number;
  perWorker?: number;
  /** Ready tasks at every sample of a full-enough window: the workers were all busy. */
  saturated: boolean;
}

/** Rates over the window: finished per worker-second (live workers averaged over time), and put per second. */
function measure(samples: readonly AutoscaleSample[], windowMs: number): Measured {
  const reading = (f: (s: AutoscaleSample) => number): CounterReading[] => samples.map((s) => ({ at: s.at, value: f(s) }));
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const spanMs = last.at - first.at;
  const finishedPerSec = rateOver(reading((s) => s.finished), windowMs);
  let workerMs = 0;
  for (let i = 1; i < samples.length; i++) workerMs += ((samples[i - 1]!.workers + samples[i]!.workers) / 2) * (samples[i]!.at - samples[i - 1]!.at);
  const workers = spanMs > 0 ? workerMs / spanMs : 0;
  return {
    spanMs,
    enqueuedPerSec: rateOver(reading((s) => s.added), windowMs) ?? 0,
    ...(finishedPerSec !== undefined && workers > 0 ? { perWorker: finishedPerSec / workers } : {}),
    saturated: samples.length >= 2 && samples.every((s) => s.waiting > 0),
  };
}

/**
 * The line a fleet logs for a change: from and to, why, and the figures it was decided on, e.g.
 * `autoscale: 1 -> 4 workers (backlog): 300 unfinished, 0.0 put/s, 21.3 tasks/s per worker over
 * 30 s (Redis counters), drain target 60 s`.
 */
export function describeDecision(d: AutoscaleDecision, policy: AutoscalePolicy): string {
  const f = d.figures;
  const rate = (n: number | undefined): string => (n === undefined ? 'not measured yet' : n.toFixed(1));
  const busy = f.capacity !== undefined && f.perWorker !== undefined && f.capacity > f.perWorker ? ` (${f.capacity.toFixed(1)} when busy)` : '';
  const head = d.to === undefined ? `autoscale: keeping ${d.from} workers (${d.why})` : `autoscale: ${d.from} -> ${d.to} workers (${d.why})`;
  return (
    `${head}: ${f.unfinished} unfinished, ${f.enqueuedPerSec.toFixed(1)} put/s, ${rate(f.perWorker)} tasks/s per worker${busy}` +
    ` over ${Math.round((policy.windowMs ?? 30_000) / 1000)} s (Redis counters), drain target ${policy.drainTargetS} s`
  );
}
