// The primitives' conformance suite (@asyncq/test-support/conformance) once more on a
// Redis Cluster of 3 masters: each primitive lives in one hash slot, its waiters wake through
// sharded pub/sub. The handles of one test share one ioredis Cluster instance, as a user would.
import type { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Lock } from '@asyncq/core';
import { type PrimitiveInfo } from '@asyncq/core/internal';
import { syncConformanceSuite } from '@asyncq/test-support/conformance';
import { uniqueName } from '@asyncq/test-support';
import { openCluster, runCli, sharedCluster, track } from './cluster-helpers.js';

let cluster: Cluster | undefined;
const shared = (): Cluster => (cluster ??= openCluster());

afterEach(() => {
  cluster = undefined; // closed by the helpers' afterEach, after the handles
});

syncConformanceSuite({
  name: 'Redis Cluster',
  options: () => ({ connection: shared() }),
  track: (c, tag) => track(c, [tag]),
  redis: () => shared(),
});

describe('asyncq locks on a Redis Cluster', () => {
  it('lists the primitives of every master (SCAN on each), read-only', async () => {
    const { nodes } = sharedCluster();
    const names = [uniqueName('cl-a'), uniqueName('cl-b'), uniqueName('cl-c'), uniqueName('cl-d')];
    const locks = names.map((n) => track(new Lock(n, { connection: shared() }), [`lock:${n}`]));
    for (const l of locks) await l.acquire();
    const run = await runCli(['locks', ...names, '--json', '--redis-cluster', nodes.map((n) => `${n.host}:${n.port}`).join(',')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as PrimitiveInfo[];
    expect(rows.map((r) => r.name).sort()).toEqual([...names].sort());
    for (const r of rows) expect(r.holders[0]?.token).toBe(locks[names.indexOf(r.name)]!.fencingToken);
    for (const l of locks) await l.release();
  });
});
