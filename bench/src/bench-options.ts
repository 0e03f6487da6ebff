/** `pnpm bench`'s sizes and switches, from its flags and environment. */
export interface BenchOptions {
  /** Tasks per scenario per round. @defaultValue 20000 (500 with --quick) */
  tasks: number;
  /** Rounds per scenario; the median is reported. @defaultValue 3 (1 with --quick) */
  rounds: number;
  /** Join wake-up trials. @defaultValue 200 (20 with --quick) */
  wakeupTrials: number;
  quick: boolean;
  /** Scenario ids to run; all when undefined. */
  only: ReadonlySet<string> | undefined;
  /** An existing Redis to use instead of a private one (BENCH_REDIS_URL). */
  redisUrl: string | undefined;
  /** Longest a timed phase may take before it is killed and counted as failed. */
  runTimeoutMs: number;
  /** Tasks per bulk call. */
  batch: number;
  /** put() calls in flight at once. */
  putInFlight: number;
  /** Completed tasks every engine keeps: asyncq's default. */
  keepCompleted: number;
  /** asyncq Worker's `prefetch` in the worker scenarios (BENCH_PREFETCH); undefined: its default (DEFAULT_WORKER_PREFETCH). */
  prefetch: number | undefined;
}

const USAGE = 'usage: pnpm bench [--quick] [--only <scenario,...>]  (env: BENCH_TASKS, BENCH_ROUNDS, BENCH_QUICK=1, BENCH_REDIS_URL, BENCH_RUN_TIMEOUT_MS, BENCH_PREFETCH)';

/** Reads the options; throws one line naming what is wrong. */
export function benchOptions(argv: readonly string[], env: NodeJS.ProcessEnv, scenarioIds: readonly string[]): BenchOptions {
  let quick = env.BENCH_QUICK === '1';
  let only: Set<string> | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const list = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (!list) throw new Error(`--only needs a list of scenarios (${scenarioIds.join(', ')})`);
      only = new Set(list.split(','));
      const unknown = [...only].filter((id) => !scenarioIds.includes(id));
      if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}: pick from ${scenarioIds.join(', ')}`);
    } else if (arg === '--help' || arg === '-h') throw new Error(`${USAGE}\nscenarios: ${scenarioIds.join(', ')}`);
    else throw new Error(`unknown argument ${arg}: ${USAGE}`);
  }
  const tasks = positiveInt('BENCH_TASKS', env.BENCH_TASKS, quick ? 500 : 20_000);
  return {
    tasks,
    rounds: positiveInt('BENCH_ROUNDS', env.BENCH_ROUNDS, quick ? 1 : 3),
    wakeupTrials: quick ? 20 : 200,
    quick,
    only,
    redisUrl: env.BENCH_REDIS_URL || undefined,
    runTimeoutMs: positiveInt('BENCH_RUN_TIMEOUT_MS', env.BENCH_RUN_TIMEOUT_MS, 60_000 + tasks * 20),
    batch: 1000,
    putInFlight: 100,
    keepCompleted: 1000,
    prefetch: env.BENCH_PREFETCH === undefined || env.BENCH_PREFETCH === '' ? undefined : wholeInt('BENCH_PREFETCH', env.BENCH_PREFETCH, 0),
  };
}

/** A positive integer from the environment, or the default. */
export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value.replace(/[_,]/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/** A whole number of at least `min` from the environment. */
function wholeInt(name: string, value: string, min: number): number {
  const n = Number(value.replace(/[_,]/g, ''));
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number of at least ${min}, got ${JSON.stringify(value)}`);
  return n;
}
