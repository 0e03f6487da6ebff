// The cluster suite's own machinery, checked with plain ioredis (no asyncq): the shared cluster
// is whole and evenly split, keys land where CLUSTER KEYSLOT says, and the helpers that the
// acceptance tests rely on (names by master, SCAN by master, ready snapshots across masters,
// connection leak counts) measure exactly what they claim.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { HOST, nodeCommand, parseInfo, sleep, uniqueName } from '@asyncq/test-support';
import { admin, keySlot, masterOfSlot, namesOnEachMaster, openCluster, sharedCluster } from './cluster-helpers.js';

describe('the shared Redis Cluster', () => {
  it('has 3 masters, each with one attached replica, splitting the 16384 slots evenly, and every node says ok', async () => {
    const { nodes, masters } = sharedCluster();
    expect(nodes).toHaveLength(6);
    expect(masters).toHaveLength(3);
    const ranges = masters.flatMap((m) => m.slots);
    expect(ranges).toEqual([
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ]);
    for (const m of masters) expect(m.replicas).toHaveLength(1);
    const replicaPorts = masters.flatMap((m) => m.replicas);
    expect(new Set([...masters.map((m) => m.port), ...replicaPorts]).size).toBe(6);
    for (const { port } of nodes) {
      const info = parseInfo((await nodeCommand(port, 'CLUSTER', 'INFO')) as string);
      expect(info.get('cluster_state')).toBe('ok');
      expect(info.get('cluster_known_nodes')).toBe('6');
    }
    for (const m of masters) {
      const role = (await nodeCommand(m.replicas[0]!, 'ROLE')) as [string, string, number, string];
      expect(role.slice(0, 4)).toEqual(['slave', HOST, m.port, 'connected']);
    }
  });

  it('routes keys through a plain ioredis Cluster to the master CLUSTER KEYSLOT names, and only there', async () => {
    const { masters } = sharedCluster();
    const cluster = openCluster();
    const byMaster = await namesOnEachMaster(admin().client(masters[0]!.port), masters, 2, 'raw');
    for (const [port, names] of byMaster) {
      for (const name of names) {
        const key = `asyncq-test:{${name}}:k`;
        await cluster.set(key, port, 'EX', 60);
        expect(masterOfSlot(masters, await keySlot(cluster, key)).port).toBe(port);
        // SCAN each master directly: the key is on its own master only.
        const found = await admin().scan(key);
        expect([...found].filter(([, keys]) => keys.includes(key)).map(([p]) => p)).toEqual([port]);
        expect(await cluster.get(key)).toBe(String(port));
        await cluster.del(key);
      }
    }
  });
});

describe('suite helpers', () => {
  it('namesOnEachMaster gives names whose hash tag falls on each master', async () => {
    const { masters } = sharedCluster();
    const byMaster = await namesOnEachMaster(admin().client(masters[1]!.port), masters, 2);
    expect([...byMaster.keys()].sort()).toEqual(masters.map((m) => m.port).sort());
    for (const [port, names] of byMaster) {
      expect(names).toHaveLength(2);
      for (const n of names) expect(masterOfSlot(masters, await keySlot(admin().client(port), `{${n}}`)).port).toBe(port);
    }
  });

  it('queueTags finds a queue’s tags on their masters by SCAN, and readySnapshot counts ready tasks exactly', async () => {
    const { masters } = sharedCluster();
    const cluster = openCluster();
    const name = uniqueName('fake');
    // Three made-up partition tags, one per master, filled the way BullMQ's layout would be.
    const tags: string[] = [];
    for (const m of masters) {
      for (let salt = 0; tags.length < masters.indexOf(m) + 1 && salt < 10_000; salt++) {
        const tag = `{${name}#${tags.length}-${salt}}`;
        if (masterOfSlot(masters, await keySlot(cluster, tag)).port === m.port) tags.push(tag);
      }
    }
    const fill: [string, number, number, number, number][] = [
      [tags[0]!, 3, 1, 2, 0],
      [tags[1]!, 0, 0, 0, 4],
      [tags[2]!, 5, 0, 1, 1],
    ];
    for (const [tag, wait, prioritized, delayed, paused] of fill) {
      const b = `asyncq:${tag}`;
      for (let i = 0; i < wait; i++) await cluster.lpush(`${b}:wait`, `w${i}`);
      for (let i = 0; i < prioritized; i++) await cluster.zadd(`${b}:prioritized`, i, `p${i}`);
      for (let i = 0; i < delayed; i++) await cluster.zadd(`${b}:delayed`, i, `d${i}`);
      for (let i = 0; i < paused; i++) await cluster.lpush(`${b}:paused`, `x${i}`);
      await cluster.set(`${b}:meta`, '1'); // a key in every partition, as a real queue has
    }
    // An unrelated queue whose name starts the same must not be picked up.
    await cluster.lpush(`asyncq:{${name}x}:wait`, 'other');

    const found = await admin().queueTags(name);
    expect(new Map([...found].sort())).toEqual(new Map(tags.map((t, i) => [t, masters[i]!.port] as const).sort()));
    const snap = await admin().readySnapshot(found);
    expect(snap.total).toBe(6 + 4 + 7);
    expect(Object.fromEntries(snap.byTag)).toEqual({ [tags[0]!]: 6, [tags[1]!]: 4, [tags[2]!]: 7 });

    await admin().deleteQueue(name);
    expect((await admin().queueTags(name)).size).toBe(0);
    await cluster.del(`asyncq:{${name}x}:wait`);
  });

  it('readySnapshot holds writes on every master while it reads, and lets them through right after', async () => {
    const { masters } = sharedCluster();
    const cluster = openCluster();
    const name = uniqueName('pause');
    const tags = new Map<string, number>();
    for (let salt = 0; tags.size < 3 && salt < 10_000; salt++) {
      const tag = `{${name}#${salt}}`;
      const port = masterOfSlot(masters, await keySlot(cluster, tag)).port;
      if (![...tags.values()].includes(port)) tags.set(tag, port);
    }
    const [first] = [...tags.keys()];
    // Pause by hand as readySnapshot does: a write sent meanwhile completes only after UNPAUSE.
    const c = admin().client(tags.get(first!)!);
    await c.call('CLIENT', 'PAUSE', 2000, 'WRITE');
    const t0 = Date.now();
    const write = cluster.lpush(`asyncq:${first}:wait`, 'late').then(() => Date.now());
    await sleep(150);
    expect((await admin().readySnapshot(tags)).total).toBe(0); // its own pause and unpause on every master
    const doneAt = await write;
    expect(doneAt - t0).toBeGreaterThanOrEqual(140);
    expect((await admin().readySnapshot(tags)).total).toBe(1);
    await admin().deleteQueue(name);
  });

  it('counts connections named asyncq:<queue> on every node (the leak check)', async () => {
    const { nodes, masters } = sharedCluster();
    const name = uniqueName('leak');
    const conns = [masters[0]!.port, masters[2]!.port, masters[2]!.replicas[0]!].map(
      (port) => new Redis({ host: HOST, port, connectionName: `asyncq:${name}` }),
    );
    try {
      await Promise.all(conns.map((r) => r.ping()));
      expect(await admin().connectionsOf(name, nodes.map((n) => n.port))).toBe(3);
    } finally {
      for (const r of conns) r.disconnect();
    }
    await sleep(100);
    expect(await admin().connectionsOf(name, nodes.map((n) => n.port))).toBe(0);
  });
});
