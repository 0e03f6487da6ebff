import { Redis } from 'ioredis';

/** What Redis did between two samples, per task. */
export interface RedisCost {
  /** Every command call (`INFO commandstats`), including the calls scripts make. */
  commandsPerTask: number;
  /** EVAL, EVALSHA and FCALL calls (and their _RO forms). */
  scriptCallsPerTask: number;
  /** Redis server CPU (`used_cpu_sys + used_cpu_user`), µs. */
  redisCpuUsPerTask: number;
}

/** One reading of the server's counters. */
export interface RedisSample {
  readonly calls: ReadonlyMap<string, number>;
  readonly cpuUs: number;
  readonly usedMemory: number;
  /** This meter's own INFO calls so far, left out of the deltas. */
  readonly ownCalls: number;
}

const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

/**
 * Reads `INFO` on a connection of its own and turns two readings into costs per task. Works on a
 * shared server too (deltas, no CONFIG RESETSTAT), though then other clients' work counts in.
 */
export class RedisMeter {
  private readonly redis: Redis;
  private ownCalls = 0;

  constructor(url: string) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
  }

  /** The server's counters now. */
  async sample(): Promise<RedisSample> {
    const text = await this.redis.info('all');
    const ownCalls = this.ownCalls++;
    const calls = new Map<string, number>();
    for (const [, cmd, n] of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(cmd!, Number(n));
    const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
    return { calls, cpuUs: (field('used_cpu_sys') + field('used_cpu_user')) * 1e6, usedMemory: field('used_memory'), ownCalls };
  }

  /** The server's process id and version, for the report's header. */
  async server(): Promise<{ pid: number; version: string }> {
    const text = await this.redis.info('server');
    this.ownCalls++;
    return { pid: Number(/^process_id:(\d+)/m.exec(text)?.[1]), version: /^redis_version:(\S+)/m.exec(text)?.[1] ?? '?' };
  }

  /** What Redis did from `before` to `after`, divided by `tasks`. */
  static cost(before: RedisSample, after: RedisSample, tasks: number): RedisCost {
    let all = 0;
    let scripts = 0;
    for (const [cmd, n] of after.calls) {
      const d = n - (before.calls.get(cmd) ?? 0);
      all += d;
      if (SCRIPT_COMMANDS.has(cmd)) scripts += d;
    }
    all -= after.ownCalls - before.ownCalls;
    return { commandsPerTask: all / tasks, scriptCallsPerTask: scripts / tasks, redisCpuUsPerTask: (after.cpuUs - before.cpuUs) / tasks };
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
