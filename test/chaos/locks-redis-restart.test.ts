import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { report, secs } from './harness/figures.js';
import { outputProblems } from './harness/output-hygiene.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { startNode, type ChaosProcess } from './harness/processes.js';

// Scenario (issue 21): a Lock contended by 4 processes and a Semaphore of 2 by 6, while Redis is
// SIGKILLed and restarted on its dir (AOF `appendfsync always`). Holders and waiters ride it out:
// never two holders of the lock, never more than 2 of the semaphore, fencing tokens rising across
// the restart, and every process finishes its run (no waiter hangs).
const KILL_AFTER_MS = 4000;
const DOWN_MS = 3000;
/** How long the contenders go on after the restart. */
const AFTER_MS = 6000;

interface Hold {
  pid: number;
  token: number;
  start: number;
  end: number;
  overlap: boolean;
}

describe('locks while Redis is SIGKILLed and restarted with AOF always', () => {
  it('holders and waiters ride it out: no double holder, tokens rise, no waiter hangs', { timeout: 120_000 }, async () => {
    const redis = await RedisServer.start({ aof: true });
    const dirs = { lock: mkdtempSync(join(tmpdir(), 'asyncq-chaos-lock-')), sem: mkdtempSync(join(tmpdir(), 'asyncq-chaos-sem-')) };
    try {
      const until = Date.now() + 90_000;
      const start = (kind: 'lock' | 'semaphore', dir: string, i: number): ChaosProcess =>
        startNode('lock-contender.mjs', [], {
          label: `${kind} ${i}`,
          env: { CHAOS: JSON.stringify({ connection: redis.url, name: `chaos-${kind}`, kind, value: 2, dir, until, holdMs: 20 }) },
        });
      const procs = [...Array.from({ length: 4 }, (_, i) => start('lock', dirs.lock, i)), ...Array.from({ length: 6 }, (_, i) => start('semaphore', dirs.sem, i))];
      await Promise.all(procs.map((p) => p.waitFor(/"event":"ready"/, 60_000)));

      // Sample the semaphore's holders (files marked while held) through the whole run.
      let maxPermits = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          if (existsSync(join(dirs.sem, 'permits'))) maxPermits = Math.max(maxPermits, readdirSync(join(dirs.sem, 'permits')).length);
          await sleep(3);
        }
      })();
      await sleep(KILL_AFTER_MS);
      const killedAt = Date.now();
      await redis.kill();
      await sleep(DOWN_MS);
      await redis.restart();
      const restartedAt = Date.now();
      await sleep(AFTER_MS);
      for (const d of Object.values(dirs)) writeFileSync(join(d, 'stop'), '');
      const exits = await Promise.all(procs.map((p) => p.exitWithin(30_000)));
      sampling = false;
      await sampler;

      const holds = (dir: string): Hold[] => (existsSync(join(dir, 'holds')) ? readFileSync(join(dir, 'holds'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Hold) : []);
      const errors = (dir: string): string[] => (existsSync(join(dir, 'errors')) ? readFileSync(join(dir, 'errors'), 'utf8').trim().split('\n') : []);
      const lockHolds = holds(dirs.lock).sort((a, b) => a.start - b.start);
      const semHolds = holds(dirs.sem);
      const byToken = [...lockHolds].sort((a, b) => a.token - b.token);
      const tokenOrderBroken = byToken.filter((h, i) => i > 0 && h.start < byToken[i - 1]!.end).length;
      const after = (hs: Hold[]): number[] => hs.filter((h) => h.start > restartedAt).map((h) => h.start - restartedAt);
      const lockResume = Math.min(...after(lockHolds));
      const semResume = Math.min(...after(semHolds));
      const gaps = lockHolds.slice(1).map((h, i) => h.start - lockHolds[i]!.end);

      report('locks-redis-restart', {
        lockHolds: lockHolds.length,
        lockHoldsAfterRestart: after(lockHolds).length,
        overlaps: lockHolds.filter((h) => h.overlap).length,
        tokensOutOfOrder: tokenOrderBroken,
        semaphoreHolds: semHolds.length,
        semaphoreMaxHolders: maxPermits,
        outage: secs(restartedAt - killedAt),
        lockResumesIn: secs(lockResume),
        semaphoreResumesIn: secs(semResume),
        longestLockGap: secs(Math.max(...gaps)),
        errors: errors(dirs.lock).length + errors(dirs.sem).length,
        exits: exits.map((e) => (e ? (e.code ?? e.signal) : 'hung')).join(','),
      });
      console.log(`[chaos] locks-redis-restart output problems: ${JSON.stringify(procs.flatMap((p) => outputProblems(p.output).map((x) => `${p.label}: ${x}`)))}`);

      expect.soft(lockHolds.filter((h) => h.overlap), 'two holders of the lock at once').toEqual([]);
      expect.soft(tokenOrderBroken, 'a later hold got a lower fencing token').toBe(0);
      expect.soft(maxPermits, 'more semaphore holders than its value').toBeLessThanOrEqual(2);
      expect.soft(exits.map((e) => e?.code), `a contender hung or failed: ${procs.map((p) => p.output.slice(-300)).join(' | ')}`).toEqual(procs.map(() => 0));
      expect.soft(after(lockHolds).length, 'the lock was held again after the restart').toBeGreaterThan(0);
      expect.soft(after(semHolds).length, 'the semaphore was held again after the restart').toBeGreaterThan(0);
      expect.soft(errors(dirs.lock).concat(errors(dirs.sem)).map((l) => JSON.parse(l) as { code: string; message: string }), 'a run() failed: Redis was back within the command timeout').toEqual([]);
    } finally {
      for (const d of Object.values(dirs)) rmSync(d, { recursive: true, force: true });
    }
  });
});
