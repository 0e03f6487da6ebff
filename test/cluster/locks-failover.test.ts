// Chaos (issue 21): a Lock contended by 4 processes and a Semaphore of 2 by 4, both living on the
// master of a private cluster (3 masters, 3 replicas, node timeout 1 s) that is SIGKILLed mid-run;
// then the same under Redis Sentinel (a master, a replica, three sentinels).
// Holders and waiters ride the failover out: no waiter hangs, the primitives are held again soon
// after the promotion, and every fencing token given after it is above every token before it. A
// hold acknowledged just before the master died can be lost with it (replication is asynchronous):
// the run counts overlapping holders rather than assuming none, and shows the tokens tell them apart.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type Promotion, type RedisCluster, sleep, spawnChild, startRedisCluster, startSentinelGroup, type TestChild, uniqueName } from '@asyncq/test-support';
import { keySlot, masterOfSlot, MasterAdmin, type ClusterConnection } from './cluster-helpers.js';

const CONTENDER = new URL('../chaos/fixtures/lock-contender.mjs', import.meta.url);

interface Hold {
  pid: number;
  token: number;
  start: number;
  end: number;
  overlap: boolean;
}

let cluster: RedisCluster;
const killed: number[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ nodeTimeoutMs: 1000 });
});

afterAll(async () => {
  await cluster?.stop();
});

afterEach(async () => {
  for (const port of killed.splice(0)) await cluster.restartNode(port);
  await cluster.waitHealthy(30_000);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh name whose primitive (`{<tag>:name}`) lives on the master at `port`. */
async function nameOn(admin: MasterAdmin, port: number, tag: string): Promise<string> {
  const masters = cluster.masters();
  for (let i = 0; i < 2000; i++) {
    const name = uniqueName('fo');
    if (masterOfSlot(masters, await keySlot(admin.client(port), `{${tag}:${name}}`)).port === port) return name;
  }
  throw new Error(`no name found on master ${port}`);
}

function readHolds(dir: string): Hold[] {
  const file = join(dir, 'holds');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Hold) : [];
}

/**
 * Contends for a Lock and a Semaphore named `lockName` / `semName` from 8 processes on `connection`,
 * kills the master they live on mid-run, and checks that everyone rides the failover out.
 */
async function runLocksFailover(label: string, connection: ClusterConnection, lockName: string, semName: string, kill: () => Promise<{ killedAt: number }>, promoted: () => Promise<Promotion>): Promise<void> {
  const lockDir = mkdtempSync(join(tmpdir(), 'asyncq-fo-lock-'));
  const semDir = mkdtempSync(join(tmpdir(), 'asyncq-fo-sem-'));
  dirs.push(lockDir, semDir);
  const until = Date.now() + 120_000;
  const start = (kind: 'lock' | 'semaphore', name: string, dir: string): TestChild =>
    spawnChild(CONTENDER, [], { CHAOS: JSON.stringify({ connection, name, kind, value: 2, dir, until, holdMs: 20 }) });
  const kids = [...Array.from({ length: 4 }, () => start('lock', lockName, lockDir)), ...Array.from({ length: 4 }, () => start('semaphore', semName, semDir))];

  // Running: both primitives held a few times.
  for (let i = 0; i < 1200 && (readHolds(lockDir).length < 20 || readHolds(semDir).length < 20); i++) await sleep(50);
  let maxPermits = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      if (existsSync(join(semDir, 'permits'))) maxPermits = Math.max(maxPermits, readdirSync(join(semDir, 'permits')).length);
      await sleep(3);
    }
  })();
  await sleep(1500);
  const { killedAt } = await kill();
  const promotion = await promoted();
  const promotedAt = killedAt + promotion.ms;
  await sleep(6000);
  for (const d of [lockDir, semDir]) writeFileSync(join(d, 'stop'), '');
  const exits = await Promise.all(kids.map((k) => Promise.race([k.exited, sleep(60_000).then(() => 'hung' as const)])));
  if (exits.includes('hung')) {
    console.log(`[chaos] ${label}: killed at ${killedAt}, promoted at ${promotedAt}`);
    await sayWhereTheyHung(connection, kids, exits, { lock: [lockName, lockDir], sem: [semName, semDir] });
  }
  sampling = false;
  await sampler;

  const lockHolds = readHolds(lockDir);
  const semHolds = readHolds(semDir);
  const before = (hs: Hold[]): Hold[] => hs.filter((h) => h.start < killedAt);
  const after = (hs: Hold[]): Hold[] => hs.filter((h) => h.start > promotedAt);
  const maxTokenBefore = Math.max(...before(lockHolds).map((h) => h.token));
  const tokensAfterAbove = after(lockHolds).every((h) => h.token > maxTokenBefore) && after(semHolds).every((h) => h.token > Math.max(...before(semHolds).map((x) => x.token)));
  const resume = (hs: Hold[]): number => Math.min(...after(hs).map((h) => h.start - promotedAt));
  const errors = [lockDir, semDir].flatMap((d) => (existsSync(join(d, 'errors')) ? readFileSync(join(d, 'errors'), 'utf8').trim().split('\n') : []));
  const figures = {
    promotion: `${(promotion.ms / 1000).toFixed(1)}s`,
    lockHolds: lockHolds.length,
    lockHoldsAfterPromotion: after(lockHolds).length,
    overlaps: lockHolds.filter((h) => h.overlap).length,
    semaphoreMaxHolders: maxPermits,
    lockResumesIn: `${(resume(lockHolds) / 1000).toFixed(1)}s`,
    semaphoreResumesIn: `${(resume(semHolds) / 1000).toFixed(1)}s`,
    tokensAfterAboveBefore: tokensAfterAbove,
    errors: errors.length,
    exits: exits.join(','),
  };
  console.log(`[chaos] ${label}: ${Object.entries(figures).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (errors.length) console.log(`[chaos] ${label} errors: ${errors.slice(0, 5).join(' | ')}`);

  expect.soft(exits, 'a contender hung or failed').toEqual(kids.map(() => 0));
  expect.soft(after(lockHolds).length, 'the lock was held again after the promotion').toBeGreaterThan(0);
  expect.soft(after(semHolds).length, 'the semaphore was held again after the promotion').toBeGreaterThan(0);
  expect.soft(resume(lockHolds), 'the lock was held again within 10 s of the promotion').toBeLessThan(10_000);
  expect.soft(tokensAfterAbove, 'a token given after the failover was not above every token before it').toBe(true);
}

/** Where each hung contender stopped (its last phase) and what Redis holds for both primitives, so a hang can be told apart. */
async function sayWhereTheyHung(connection: ClusterConnection, kids: TestChild[], exits: (number | null | 'hung')[], prims: Record<'lock' | 'sem', [string, string]>): Promise<void> {
  for (const [i, k] of kids.entries()) {
    if (exits[i] !== 'hung') continue;
    const dir = i < 4 ? prims.lock[1] : prims.sem[1];
    const file = join(dir, `phase-${k.proc.pid}`);
    console.log(`[chaos] hung contender ${i} (pid ${k.proc.pid}): ${existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(-4).join(' | ') : 'no phase'}`);
  }
  const client = connection instanceof Cluster ? connection : 'cluster' in connection ? new Cluster(connection.cluster) : new Redis({ sentinels: connection.sentinels, name: connection.name });
  try {
    for (const [word, [name]] of Object.entries(prims)) {
      const base = `asyncq:{${word}:${name}}:`;
      const [state, holders, queue, sessions] = await Promise.all([client.hgetall(`${base}sync`), client.hgetall(`${base}holders`), client.zrange(`${base}queue`, 0, -1, 'WITHSCORES'), client.hgetall(`${base}sessions`)]);
      console.log(`[chaos] ${word} in Redis at ${Date.now()}: state=${JSON.stringify(state)} holders=${JSON.stringify(holders)} queue=${JSON.stringify(queue)} sessions=${JSON.stringify(sessions)}`);
    }
  } finally {
    if (client !== connection) client.disconnect();
  }
}

describe('locks through a failover', () => {
  it('Cluster: holders and waiters ride out the SIGKILL of their master: no waiter hangs, tokens keep rising', { timeout: 180_000 }, async () => {
    const masters = cluster.masters();
    const victim = masters[0]!;
    const admin = new MasterAdmin(masters.map((m) => m.port));
    let lockName: string;
    let semName: string;
    try {
      lockName = await nameOn(admin, victim.port, 'lock');
      semName = await nameOn(admin, victim.port, 'sem');
    } finally {
      admin.close();
    }
    await runLocksFailover(
      'locks-cluster-failover',
      { cluster: cluster.nodes },
      lockName,
      semName,
      async () => {
        const k = await cluster.killMaster(victim.port);
        killed.push(victim.port);
        return k;
      },
      () => cluster.waitForPromotion(victim.port),
    );
  });

  it('Sentinel: holders and waiters ride out the SIGKILL of the master: no waiter hangs, tokens keep rising', { timeout: 180_000 }, async () => {
    const group = await startSentinelGroup();
    onTestFinished(() => group.stop());
    await runLocksFailover('locks-sentinel-failover', group.connectionOptions(), uniqueName('fo'), uniqueName('fo'), () => group.killMaster(), () => group.waitForFailover());
  });
});
