/**
 * The `locks` scenario of `pnpm bench`: asyncq's Lock and Semaphore beside redis-semaphore's Mutex
 * and Semaphore on the same Redis, each run in a fresh process (locks-child.ts), the order rotating
 * between rounds: uncontended acquire+release per second on one handle, hand-off latency from a
 * release to the next waiter holding (redis-semaphore's waiters poll every 10 ms by default;
 * asyncq's are told by pub/sub), and Redis commands per acquire+release.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { BenchOptions } from './bench-options.js';
import { LOCK_VARIANTS, type LockRunResult, type LockVariant } from './locks-protocol.js';
import type { RedisJanitor } from './redis-janitor.js';
import { table } from './report.js';
import { fmtFixed, fmtInt, median, quantile } from './stats.js';

/** The target: a hand-off p99 at most this, ms. */
export const HANDOFF_P99_TARGET_MS = 5;

interface Pooled {
  rates: number[];
  commands: number[];
  scriptCalls: number[];
  latencies: number[];
  failures: string[];
}

function runChild(variant: LockVariant, url: string, ops: number, trials: number, timeoutMs: number): Promise<LockRunResult> {
  const script = new URL('./locks-child.js', import.meta.url).pathname;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, variant, url, String(ops), String(trials)], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${variant}: ${stderr.trim().split('\n')[0] || error.message}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as LockRunResult);
    });
  });
}

/** Runs the scenario and prints its section; resolves to the runs that failed. */
export async function locksScenario(o: BenchOptions, url: string, janitor: RedisJanitor): Promise<string[]> {
  const ops = o.quick ? 300 : 5000;
  const trials = o.quick ? 30 : 300;
  const { devDependencies } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { devDependencies: Record<string, string> };
  console.log(
    `\n## locks\n\nasyncq Lock and Semaphore beside redis-semaphore ${devDependencies['redis-semaphore']} Mutex and Semaphore: ${fmtInt(ops)} uncontended acquire+release on one handle (a semaphore of 10), then ${trials} hand-offs between two handles on two connections (a semaphore of 1): from the holder's release() call to the waiter holding\n`,
  );
  const pooled = new Map<LockVariant, Pooled>(LOCK_VARIANTS.map((v) => [v, { rates: [], commands: [], scriptCalls: [], latencies: [], failures: [] }]));
  for (let r = 0; r < o.rounds; r++) {
    const order = LOCK_VARIANTS.map((_, i) => LOCK_VARIANTS[(i + r) % LOCK_VARIANTS.length]!);
    const line: string[] = [];
    for (const v of order) {
      const p = pooled.get(v)!;
      try {
        const res = await runChild(v, url, ops, trials, o.runTimeoutMs);
        p.rates.push(res.perSecond);
        p.commands.push(res.commandsPerOp);
        p.scriptCalls.push(res.scriptCallsPerOp);
        p.latencies.push(...res.latenciesMs);
        const sorted = [...res.latenciesMs].sort((a, b) => a - b);
        line.push(`${v} ${fmtInt(res.perSecond)}/s, hand-off p99 ${fmtFixed(quantile(sorted, 0.99), 2)} ms`);
      } catch (e) {
        p.failures.push((e as Error).message);
        line.push(`${v} failed (${(e as Error).message})`);
      } finally {
        await janitor.clear('bench-locks-').catch(() => {});
      }
    }
    console.log(`- round ${r + 1}: ${line.join(' · ')}`);
  }
  const rows = LOCK_VARIANTS.map((v) => {
    const p = pooled.get(v)!;
    const sorted = [...p.latencies].sort((a, b) => a - b);
    return [v, fmtInt(median(p.rates)), fmtFixed(median(p.commands), 1), fmtFixed(median(p.scriptCalls), 1), `${fmtFixed(quantile(sorted, 0.5), 2)} ms`, `${fmtFixed(quantile(sorted, 0.99), 2)} ms`, String(p.rates.length)];
  });
  console.log(`\n${table(['primitive', 'acquire+release/s', 'Redis cmds per acquire+release', 'script calls', 'hand-off p50', 'hand-off p99', 'runs'], rows)}`);
  const asyncqP99 = (v: LockVariant): number => quantile([...pooled.get(v)!.latencies].sort((a, b) => a - b), 0.99);
  const targets = (['asyncq Lock', 'asyncq Semaphore'] as const).map((v) => {
    const p99 = asyncqP99(v);
    return [`${v} hand-off p99 <= ${HANDOFF_P99_TARGET_MS} ms`, `${fmtFixed(p99, 2)} ms`, p99 <= HANDOFF_P99_TARGET_MS ? 'met' : 'not met'];
  });
  console.log(`\n${table(['target', 'figure', 'met'], targets)}`);
  return [...pooled.values()].flatMap((p) => p.failures);
}
