// The primitives across real processes (fixtures/sync-child.mjs): a SIGKILLed holder, a frozen
// holder, contended locks, a semaphore over many processes, a barrier over many rounds.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Lock } from '@asyncq/core';
import { redisUrl, sleep, spawnChild, type TestChild, track, uniqueName } from '@asyncq/test-support';

const CHILD = new URL('./fixtures/sync-child.mjs', import.meta.url);
const dirs: string[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'asyncq-sync-'));
  dirs.push(d);
  return d;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function child(role: string, name: string, args: (string | number)[] = [], opts: Record<string, unknown> = {}): TestChild {
  return spawnChild(CHILD, [role, name, ...args.map(String)], { REDIS_URL: redisUrl(), ASYNCQ_TEST_OPTS: JSON.stringify(opts) });
}

describe('primitives across processes', () => {
  it('a SIGKILLed holder’s lock comes back within lease + 2 s, with a higher fencing token', async () => {
    const name = uniqueName('kill');
    const lease = 1000;
    const holder = child('hold', name, [], { lease });
    const { token: held } = await holder.next('holding');
    const waiter = track(new Lock(name, { connection: redisUrl(), lease }), `lock:${name}`);
    const acquired = waiter.acquire();
    await sleep(200);
    const killedAt = Date.now();
    holder.kill('SIGKILL');
    await acquired;
    const after = Date.now() - killedAt;
    console.log(`[sync] SIGKILLed holder's lock came back after ${after} ms (lease ${lease} ms); token ${held} -> ${waiter.fencingToken}`);
    expect(after).toBeLessThanOrEqual(lease + 2000);
    expect(waiter.fencingToken).toBeGreaterThan(held as number);
    await waiter.release();
  });

  it('a holder frozen past its lease sees its signal abort and its release rejected with LeaseLost; the next holder got a higher token', async () => {
    const name = uniqueName('stall');
    const lease = 500;
    const holder = child('hold', name, [], { lease });
    const { token: held } = await holder.next('holding');
    const waiter = track(new Lock(name, { connection: redisUrl(), lease }), `lock:${name}`);
    const acquired = waiter.acquire();
    holder.kill('SIGSTOP');
    await acquired;
    expect(waiter.fencingToken).toBeGreaterThan(held as number);
    holder.kill('SIGCONT');
    expect((await holder.next('lost')).code).toBe('LEASE_LOST');
    holder.send('release');
    const failed = await holder.next('release-failed');
    expect(failed.code).toBe('LEASE_LOST');
    expect(failed.message).toMatch(/no longer holds lock/);
    // The frozen holder's release did not release the new holder's lock.
    expect(await waiter.locked()).toBe(true);
    await waiter.release();
  });

  it('4 processes x 250 contended run()s: never two holders at once, tokens strictly increase', { timeout: 90_000 }, async () => {
    const name = uniqueName('contend');
    const dir = tempDir();
    const kids = Array.from({ length: 4 }, () => child('contend', name, [250, dir]));
    await Promise.all(kids.map((k) => k.next('ready')));
    const started = Date.now();
    for (const k of kids) k.send('go');
    const results = await Promise.all(kids.map((k) => k.next('done', 80_000)));
    const ms = Date.now() - started;
    const log = readFileSync(join(dir, 'log'), 'utf8').trim().split('\n');
    const tokens = log.map((l) => Number(l.split(' ')[1]));
    console.log(`[sync] 4 x 250 contended run()s in ${ms} ms (${Math.round((1000 * 1000) / ms)}/s)`);
    expect(results.map((r) => r.overlaps)).toEqual([0, 0, 0, 0]);
    expect(log).toHaveLength(1000);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
  });

  it('a semaphore of 10 over 50 processes never has more than 10 holders (sampled)', { timeout: 150_000 }, async () => {
    const name = uniqueName('sem');
    const dir = tempDir();
    const kids = Array.from({ length: 50 }, () => child('semaphore', name, [10, 4, 30, dir]));
    await Promise.all(kids.map((k) => k.next('ready', 100_000)));
    for (const k of kids) k.send('go');
    let maxSampled = 0;
    let samples = 0;
    let finished = false;
    const all = Promise.all(kids.map((k) => k.next('done', 80_000))).finally(() => (finished = true));
    while (!finished) {
      maxSampled = Math.max(maxSampled, readdirSync(dir).length);
      samples++;
      await sleep(2);
    }
    const results = await all;
    const maxSeen = Math.max(...results.map((r) => r.maxSeen as number));
    console.log(`[sync] semaphore of 10 over 50 processes: at most ${maxSampled} holders in ${samples} samples, ${maxSeen} seen by a holder`);
    expect(maxSampled).toBeLessThanOrEqual(10);
    expect(maxSeen).toBeLessThanOrEqual(10);
    expect(maxSampled).toBeGreaterThan(1);
  });

  it('a barrier of 5 processes over 100 rounds releases all 5 together each round', { timeout: 90_000 }, async () => {
    const name = uniqueName('barrier');
    const file = join(tempDir(), 'rounds');
    const kids = Array.from({ length: 5 }, () => child('barrier', name, [5, 100, file]));
    await Promise.all(kids.map((k) => k.next('ready')));
    const started = Date.now();
    for (const k of kids) k.send('go');
    await Promise.all(kids.map((k) => k.next('done', 80_000)));
    const ms = Date.now() - started;
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { pid: number; round: number; index: number; arrived: number; left: number });
    expect(lines).toHaveLength(500);
    for (let round = 0; round < 100; round++) {
      const r = lines.filter((l) => l.round === round);
      expect(r.map((l) => l.index).sort()).toEqual([0, 1, 2, 3, 4]);
      expect(new Set(r.map((l) => l.pid)).size).toBe(5);
      // Nobody left the round before the last party arrived.
      expect(Math.min(...r.map((l) => l.left))).toBeGreaterThanOrEqual(Math.max(...r.map((l) => l.arrived)));
    }
    console.log(`[sync] barrier of 5 processes: 100 rounds in ${ms} ms (${(ms / 100).toFixed(1)} ms per round)`);
  });
});
