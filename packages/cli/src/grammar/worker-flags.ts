import { DEFAULT_WORKER_PREFETCH, MAX_PREFETCH, MAX_TIMER_MS } from '@asyncq/core/internal';
import { HANDLER_LOAD_TIMEOUT_MS, MAX_CONCURRENCY } from '@asyncq/worker';
import { wholeNumber } from '../cli-context.js';
import { formatDuration, parseDuration } from './durations.js';
import { durationOption, numberOption } from './flag-values.js';

/**
 * The flags `worker` and `fleet` share, declared once: a fleet passes them on to each of its
 * workers, so both commands take the same spellings, defaults, bounds and messages.
 * `concurrency` takes the command's default (one worker runs 1 task at once, a fleet's 16).
 */
export const WORKER_FLAGS = {
  concurrency: <D extends number>(perWorker: string, fallback: D) => numberOption(`tasks at once${perWorker} (1-${MAX_CONCURRENCY})`, { alias: 'c', default: fallback }),
  grace: durationOption('time running tasks get to finish on stop', { default: '10s' }),
  lease: durationOption("a held task's lease without renewal (7s)"),
  stalledInterval: durationOption("idle checks for crashed workers' tasks (2s)"),
  loadTimeout: durationOption('time the handler module may take to load', { default: formatDuration(HANDLER_LOAD_TIMEOUT_MS) }),
  prefetch: numberOption(`tasks reserved ahead of the running ones (0-${MAX_PREFETCH}; a killed worker delays them too)`, { default: DEFAULT_WORKER_PREFETCH }),
};

/** The shared flags as the command line gives them. */
export interface WorkerFlagValues {
  concurrency: unknown;
  grace: string;
  lease?: string;
  stalledInterval?: string;
  loadTimeout: string;
  prefetch: unknown;
}

/** The shared flags, checked: what a worker process takes. */
export interface WorkerSettings {
  concurrency: number;
  graceMs: number;
  /** ms a held task stays the worker's without a renewal; absent: the worker's default. */
  lease?: number;
  /** ms between an idle worker's looks for crashed workers' tasks; absent: the worker's default. */
  stalledInterval?: number;
  loadTimeoutMs: number;
  /** Tasks each worker reserves ahead of its running ones (the Worker's `prefetch`). */
  prefetch: number;
}

/** Reads the shared flags once for both commands; a wrong value is a CliError naming the flag. */
export function parseWorkerFlags(argv: WorkerFlagValues, warn: (line: string) => void): WorkerSettings {
  return {
    concurrency: wholeNumber('--concurrency', argv.concurrency, 1, MAX_CONCURRENCY),
    graceMs: parseDuration(argv.grace, { flag: '--grace', bare: 'ms', max: MAX_TIMER_MS, warn }),
    ...(argv.lease === undefined ? {} : { lease: parseDuration(argv.lease, { flag: '--lease', bare: 'unit', min: 100, max: 86_400_000 }) }),
    ...(argv.stalledInterval === undefined ? {} : { stalledInterval: parseDuration(argv.stalledInterval, { flag: '--stalled-interval', bare: 'unit', min: 50, max: 3_600_000 }) }),
    loadTimeoutMs: parseDuration(argv.loadTimeout, { flag: '--load-timeout', bare: 'unit', min: 100, max: 3_600_000 }),
    prefetch: wholeNumber('--prefetch', argv.prefetch, 0, MAX_PREFETCH),
  };
}
