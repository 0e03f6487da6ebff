/**
 * `pnpm bench`: asyncq beside plain BullMQ 6.7 and bee-queue 2.0 on one private Redis, in the
 * same run, the engines' order rotating between rounds. For each scenario: throughput, Redis
 * commands and script calls per task (`INFO commandstats` deltas), Redis CPU per task (`INFO
 * cpu` deltas), the measured process's CPU and peak RSS; then a summary, the Redis cost table and
 * the issue's targets, each marked met or not.
 *
 * Every timed phase runs in a fresh child process (bench-child.ts). `--quick` (or BENCH_QUICK=1)
 * runs everything tiny; `--only a,b` picks scenarios. BENCH_TASKS (default 20000) and
 * BENCH_ROUNDS (default 3) size the run; BENCH_REDIS_URL uses an existing Redis instead of a
 * private one (figures then include whatever else that server does).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Queue } from '@asyncq/core';
import { DEFAULT_WORKER_PREFETCH } from '@asyncq/core/internal';
import { startEmbeddedRedis } from '@asyncq/core/testing';
import { benchOptions, type BenchOptions } from './bench-options.js';
import { ChildRun } from './child-runner.js';
import { locksScenario } from './locks-scenario.js';
import { ENGINE_KEEPS, ENGINE_LABEL, prefill } from './engine-admin.js';
import type { EngineId } from './protocol.js';
import { RedisJanitor } from './redis-janitor.js';
import { RedisMeter } from './redis-meter.js';
import { costTable, LATENCY_SCENARIOS, scenarioTable, summaryTable, targetChecks, targetsTable } from './report.js';
import { Results, type RunOutcome } from './results.js';
import { scenarios, SCENARIO_IDS, type Scenario, type Variant } from './scenarios.js';
import { fmtFixed, fmtInt } from './stats.js';

async function main(): Promise<void> {
  const o = benchOptions(process.argv.slice(2), process.env, SCENARIO_IDS);
  const embedded = o.redisUrl ? undefined : await startEmbeddedRedis();
  const url = o.redisUrl ?? embedded!.url;
  const meter = new RedisMeter(url);
  const janitor = new RedisJanitor(url, embedded !== undefined);
  try {
    const server = await meter.server();
    const versions = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    console.log(`# asyncq bench${o.quick ? ' (quick)' : ''}: asyncq vs BullMQ ${versions.dependencies.bullmq} vs bee-queue ${versions.devDependencies['bee-queue']}`);
    console.log('');
    console.log(`- Redis ${server.version} at ${new URL(url).host} (${embedded ? 'private, started for this run' : 'BENCH_REDIS_URL: shared, its other clients count in'}), one process per timed phase`);
    console.log(`- ${fmtInt(o.tasks)} tasks per scenario per round, ${o.rounds} round(s), engines in rotating order; medians (peak RSS: the largest)`);
    console.log(`- completed jobs kept: ${ENGINES.map((e) => `${ENGINE_LABEL[e]} ${ENGINE_KEEPS[e]}`).join('; ')}`);
    console.log(`- asyncq Worker prefetch: ${o.prefetch === undefined ? `its default (${DEFAULT_WORKER_PREFETCH})` : `${o.prefetch} (BENCH_PREFETCH)`}`);
    console.log(`- Redis cmds/task counts every call INFO commandstats saw, the calls scripts make included; script calls are EVAL/EVALSHA/FCALL`);
    console.log(`- host: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)}, Node ${process.version}`);
    const results = new Results();
    const chosen = scenarios(o).filter((s) => !o.only || o.only.has(s.id));
    for (const s of chosen) {
      console.log(`\n## ${s.title}\n\n${s.describe}\n`);
      const rounds = s.rounds ?? o.rounds;
      for (let r = 0; r < rounds; r++) {
        // Rotate who goes first, so no engine always meets a warmer (or more tired) Redis and host.
        const order = s.variants.map((_, i) => s.variants[(i + r) % s.variants.length]!);
        const line: string[] = [];
        for (const v of order) {
          const outcome = await runVariant(o, url, meter, janitor, s, v);
          results.add(s.id, v.key, outcome);
          line.push(`${variantLabel(v)} ${'error' in outcome ? `failed (${outcome.error})` : outcomeText(s, outcome)}`);
        }
        console.log(`- round ${r + 1}: ${line.join(' · ')}`);
      }
      console.log(`\n${scenarioTable(s, results)}`);
    }
    if (chosen.length > 0) {
      console.log(`\n## Summary\n\n${summaryTable(chosen, results)}`);
      console.log(`\n## Redis per task: commands / script calls / CPU µs\n\n${costTable(chosen, results)}`);
      console.log(`\n## Targets\n\n${targetsTable(targetChecks(results))}`);
    }
    const failures = [...results.failures(), ...(!o.only || o.only.has('locks') ? await locksScenario(o, url, janitor) : [])];
    if (failures.length > 0) {
      console.error(`\n${failures.length} run(s) failed:\n${failures.map((f) => `- ${f}`).join('\n')}`);
      process.exitCode = 1;
    }
  } finally {
    await meter.close();
    await janitor.close();
    await embedded?.stop();
  }
}

const ENGINES: EngineId[] = ['asyncq', 'bullmq', 'bee'];

function variantLabel(v: Variant): string {
  return v.label ?? (v.key === v.engine ? ENGINE_LABEL[v.engine] : `${v.key} joiner`);
}

function outcomeText(s: Scenario, f: Exclude<RunOutcome, { error: string }>): string {
  return LATENCY_SCENARIOS.has(s.id) ? `${s.count} trials` : `${fmtInt(f.perSecond)}/s, Redis ${fmtFixed(f.redisCpuUsPerTask, 0)} µs/task`;
}

/**
 * One timed run: a child connects, the queue is prefilled if the scenario says so, a joiner waits
 * if it says so, then the child is told to go while Redis's counters are read either side.
 */
async function runVariant(o: BenchOptions, url: string, meter: RedisMeter, janitor: RedisJanitor, s: Scenario, v: Variant): Promise<RunOutcome> {
  const queue = `bench-${s.id}-${randomBytes(4).toString('hex')}`;
  let child: ChildRun | undefined;
  let joiner: Queue<unknown> | undefined;
  try {
    child = await ChildRun.start({
      engine: v.engine,
      role: v.role,
      url,
      queue,
      count: s.count,
      concurrency: v.concurrency,
      inFlight: o.putInFlight,
      batch: o.batch,
      progressMs: 0,
      keepCompleted: o.keepCompleted,
    });
    if (v.limits) {
      const limited = new Queue(queue, { connection: url });
      await limited.setLimits(v.limits).finally(() => limited.close());
    }
    if (v.prefill) await prefill(v.engine, url, queue, s.count, o.batch, o.keepCompleted, v.groups);
    let joined: Promise<void> | undefined;
    if (v.joiner) {
      joiner = new Queue(queue, { connection: url });
      joined = joiner.join({ timeout: o.runTimeoutMs });
      joined.catch(() => {});
      await new Promise((r) => setTimeout(r, 100)); // the join is waiting before the run starts
    }
    const before = await meter.sample();
    const done = await child.go(o.runTimeoutMs);
    const after = await meter.sample();
    await joined;
    await child.stop();
    return {
      perSecond: (s.count / done.ms) * 1000,
      ...RedisMeter.cost(before, after, s.count),
      processCpuUsPerTask: done.cpuUs / s.count,
      peakRss: done.peakRss,
      idleRss: child.idleRss,
      ...(done.samples ? { samples: done.samples } : {}),
    };
  } catch (e) {
    await child?.kill();
    return { error: e instanceof Error ? e.message : String(e) };
  } finally {
    await joiner?.close().catch(() => {});
    await janitor.clear(queue).catch((e: unknown) => console.error(`  (could not delete ${queue}'s keys: ${(e as Error).message})`));
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
