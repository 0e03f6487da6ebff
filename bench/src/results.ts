import type { RedisCost } from './redis-meter.js';
import { median, quantile } from './stats.js';

/** What one timed run measured. */
export interface RunFigures extends RedisCost {
  perSecond: number;
  /** The measured process's own CPU per task, µs. */
  processCpuUsPerTask: number;
  /** Peak RSS of the measured process during the run. */
  peakRss: number;
  /** Its RSS once connected, before the run. */
  idleRss: number;
  /** join-wakeup: one latency per trial, ms. */
  samples?: number[];
}

/** A run either measured something or failed, saying why. */
export type RunOutcome = RunFigures | { error: string };

/** A variant's runs summed up: medians, except the peak RSS (the largest) and latency quantiles. */
export interface Figures extends RedisCost {
  perSecond: number;
  processCpuUsPerTask: number;
  peakRss: number;
  idleRss: number;
  p50: number;
  p99: number;
  runs: number;
  errors: string[];
}

/** Every run's outcome, by scenario and variant. */
export class Results {
  private readonly runs = new Map<string, Map<string, RunOutcome[]>>();

  add(scenario: string, variant: string, outcome: RunOutcome): void {
    let byVariant = this.runs.get(scenario);
    if (!byVariant) this.runs.set(scenario, (byVariant = new Map()));
    byVariant.set(variant, [...(byVariant.get(variant) ?? []), outcome]);
  }

  has(scenario: string): boolean {
    return this.runs.has(scenario);
  }

  /** The variant's figures; every field NaN when it did not run. */
  figures(scenario: string, variant: string): Figures {
    return aggregate(this.runs.get(scenario)?.get(variant) ?? []);
  }

  /** Every failed run, as "scenario variant: why". */
  failures(): string[] {
    const out: string[] = [];
    for (const [s, byVariant] of this.runs) {
      for (const [v, outcomes] of byVariant) for (const o of outcomes) if ('error' in o) out.push(`${s} ${v}: ${o.error}`);
    }
    return out;
  }
}

function aggregate(outcomes: RunOutcome[]): Figures {
  const ok = outcomes.filter((o): o is RunFigures => !('error' in o));
  const med = (f: (r: RunFigures) => number): number => median(ok.map(f));
  const samples = ok.flatMap((r) => r.samples ?? []).sort((a, b) => a - b);
  return {
    perSecond: med((r) => r.perSecond),
    commandsPerTask: med((r) => r.commandsPerTask),
    scriptCallsPerTask: med((r) => r.scriptCallsPerTask),
    redisCpuUsPerTask: med((r) => r.redisCpuUsPerTask),
    processCpuUsPerTask: med((r) => r.processCpuUsPerTask),
    peakRss: ok.length > 0 ? Math.max(...ok.map((r) => r.peakRss)) : NaN,
    idleRss: med((r) => r.idleRss),
    p50: quantile(samples, 0.5),
    p99: quantile(samples, 0.99),
    runs: ok.length,
    errors: outcomes.flatMap((o) => ('error' in o ? [o.error] : [])),
  };
}
