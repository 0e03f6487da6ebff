import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { FaultProxy } from './fault-proxy.js';
import { freePort, nodeCommand, nodeInfo, parseClusterNodes, parseInfo, type RedisCluster, RedisServer, startEmbeddedRedis, type EmbeddedRedis } from '@asyncq/test-support';

/**
 * Replicas that can be made to lag on purpose, before a failover: each replica's replication link
 * runs through a {@link FaultProxy}, and {@link stallReplication} stops the master's stream to it
 * (the replica stays connected and believes it is in sync, as a slow or partitioned one does).
 * Promoting it then loses every write acknowledged since: the acknowledged-but-lost case that
 * asynchronous replication allows and asyncq must report.
 */

/** Stops the replication stream (master to replica) through `proxy`: its connections that sent PSYNC or SYNC. */
export function stallReplication(proxy: FaultProxy): void {
  proxy.stall({ direction: 'down', connection: (c) => c.counts.has('PSYNC') || c.counts.has('SYNC') });
}

/** Polls `check` every 100 ms until it returns true, or throws `what` after `ms`. */
async function until(what: string, ms: number, check: () => Promise<boolean | string>): Promise<void> {
  const end = Date.now() + ms;
  let last: unknown = '';
  for (;;) {
    try {
      const r = await check();
      if (r === true) return;
      last = r;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A master and one replica whose replication link runs through a fault proxy, in sync when this
 * resolves. The master serves a (re)attaching replica at once (diskless, no 5 s batching delay).
 */
export async function startLaggableReplica(): Promise<{ master: RedisServer; link: FaultProxy; replica: RedisServer }> {
  const master = await RedisServer.start({ args: ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'] });
  const link = await FaultProxy.start(master.port);
  const replica = await RedisServer.start({ args: ['--replicaof', '127.0.0.1', String(link.port)] });
  await until('the replica in sync', 20_000, async () => (await nodeInfo(replica.port, 'replication')).get('master_link_status') === 'up');
  return { master, link, replica };
}

/** One `redis-server --sentinel` with a config file of its own, on startEmbeddedRedis. */
class SentinelServer {
  private server?: EmbeddedRedis;
  readonly dir = mkdtempSync(join(tmpdir(), 'asyncq-chaos-sentinel-'));

  constructor(readonly port: number) {}

  async start(name: string, masterPort: number, opts: { downAfterMs: number; failoverTimeoutMs: number }): Promise<void> {
    const conf = join(this.dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${name} ${opts.downAfterMs}`,
        `sentinel failover-timeout ${name} ${opts.failoverTimeoutMs}`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    sentinels.add(this);
    this.server = await startEmbeddedRedis({ port: this.port, dir: this.dir, config: conf, args: ['--sentinel'], readyLine: 'Sentinel ID is' });
  }

  async stop(): Promise<void> {
    this.server?.signal('SIGKILL');
    await this.server?.exited;
    rmSync(this.dir, { recursive: true, force: true });
    sentinels.delete(this);
  }
}

const sentinels = new Set<SentinelServer>();

/**
 * A master, one replica that replicates through a fault proxy, and three sentinels (quorum 2)
 * that fail over a second after the master dies. The sentinels' failover-timeout is long (60 s),
 * so they never "fix" the replica's master address (the proxy) during a scenario.
 */
export class LaggableSentinelGroup {
  private constructor(
    readonly name: string,
    readonly master: RedisServer,
    readonly replica: RedisServer,
    /** The replica's replication link runs through it. */
    readonly link: FaultProxy,
    private readonly sentinelServers: SentinelServer[],
  ) {}

  static async start(name = 'mymaster'): Promise<LaggableSentinelGroup> {
    const { master, link, replica } = await startLaggableReplica();
    const servers: SentinelServer[] = [];
    for (let i = 0; i < 3; i++) {
      const s = new SentinelServer(await freePort());
      await s.start(name, master.port, { downAfterMs: 1000, failoverTimeoutMs: 60_000 });
      servers.push(s);
    }
    const group = new LaggableSentinelGroup(name, master, replica, link, servers);
    await until('sentinels that know the replica and each other', 30_000, async () => {
      for (const s of servers) {
        const f = (await nodeCommand(s.port, 'SENTINEL', 'MASTER', name)) as string[];
        const m = new Map<string, string>();
        for (let i = 0; i + 1 < f.length; i += 2) m.set(f[i]!, f[i + 1]!);
        if (m.get('num-slaves') !== '1' || m.get('num-other-sentinels') !== '2') return `sentinel ${s.port}: ${m.get('num-slaves')} replicas, ${m.get('num-other-sentinels')} others`;
      }
      return true;
    });
    return group;
  }

  /** What ioredis (and asyncq's `connection`) take to find the master through the sentinels. */
  connection(): { sentinels: { host: string; port: number }[]; name: string } {
    return { sentinels: this.sentinelServers.map((s) => ({ host: '127.0.0.1', port: s.port })), name: this.name };
  }

  /** The CLI's flags for the same. */
  cliFlags(): string[] {
    return ['--redis-sentinels', this.sentinelServers.map((s) => `127.0.0.1:${s.port}`).join(','), '--redis-master', this.name];
  }

  /** The replica stops receiving the master's writes; it still looks connected. */
  stallReplication(): void {
    stallReplication(this.link);
  }

  /** SIGKILLs the master and waits until every sentinel names the replica, and the replica says it is master. */
  async killMasterAndWaitForFailover(): Promise<{ ms: number }> {
    const t0 = Date.now();
    await this.master.kill();
    await until('failover to the replica', 30_000, async () => {
      for (const s of this.sentinelServers) {
        const addr = (await nodeCommand(s.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name)) as [string, string] | null;
        if (addr?.[1] !== String(this.replica.port)) return `sentinel ${s.port} names ${addr?.join(':')}`;
      }
      const role = (await nodeCommand(this.replica.port, 'ROLE')) as unknown[];
      return role[0] === 'master' ? true : `replica is ${String(role[0])}`;
    });
    return { ms: Date.now() - t0 };
  }

  async stop(): Promise<void> {
    await Promise.all(this.sentinelServers.map((s) => s.stop()));
    await this.link.close();
    await Promise.all([this.master.destroy(), this.replica.destroy()]);
  }
}

/**
 * Makes the replica of the cluster master on `masterPort` replicate through a fault proxy: the
 * master announces the proxy's port (`cluster-announce-port`), the cluster gossips it, and its
 * replica switches its replication link to that address. Clients that refresh the slot map then
 * reach that master through the proxy too (it passes everything through unless told otherwise).
 */
export async function proxyClusterReplication(cluster: RedisCluster, masterPort: number): Promise<{ proxy: FaultProxy; replicaPort: number }> {
  const m = (await cluster.refresh()).find((x) => x.port === masterPort);
  const replicaPort = m?.replicas[0];
  if (replicaPort === undefined) throw new Error(`master ${masterPort} has no replica`);
  const proxy = await FaultProxy.start(masterPort);
  await nodeCommand(masterPort, 'CONFIG', 'SET', 'cluster-announce-port', String(proxy.port));
  await until(`replica ${replicaPort} replicating through the proxy`, 20_000, async () => {
    const repl = await nodeInfo(replicaPort, 'replication');
    return repl.get('master_port') === String(proxy.port) && repl.get('master_link_status') === 'up' ? true : `${repl.get('master_port')} ${repl.get('master_link_status')}`;
  });
  return { proxy, replicaPort };
}

/** The port of the cluster master that serves `key`'s slot now. */
export async function masterOfKey(cluster: RedisCluster, key: string): Promise<number> {
  const port = cluster.nodes[0]!.port;
  const slot = Number(await nodeCommand(port, 'CLUSTER', 'KEYSLOT', key));
  const m = (await cluster.refresh()).find((x) => x.slots.some(([a, b]) => slot >= a && slot <= b));
  if (!m) throw new Error(`no master serves slot ${slot}`);
  return m.port;
}

/**
 * SIGKILLs the cluster node on `port` by the pid it reports (`INFO server`), for a master whose
 * announced port is a proxy's, which the cluster harness no longer knows it by.
 */
export async function killClusterNode(port: number): Promise<number> {
  const pid = Number((await nodeInfo(port, 'server')).get('process_id'));
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`node ${port} reports no process_id`);
  process.kill(pid, 'SIGKILL');
  return Date.now();
}

/** Waits until the node on `replicaPort` is a master serving slots, and the cluster is ok, in its view and `otherPort`'s. */
export async function waitForClusterPromotion(replicaPort: number, otherPort: number, ms = 30_000): Promise<void> {
  await until(`promotion of ${replicaPort}`, ms, async () => {
    for (const port of [replicaPort, otherPort]) {
      const info = parseInfo((await nodeCommand(port, 'CLUSTER', 'INFO')) as string);
      if (info.get('cluster_state') !== 'ok') return `node ${port}: cluster_state ${info.get('cluster_state')}`;
      const me = parseClusterNodes((await nodeCommand(port, 'CLUSTER', 'NODES')) as string).find((l) => l.port === replicaPort);
      if (!me?.flags.has('master') || me.slots.length === 0) return `node ${port} sees ${replicaPort} as ${[...(me?.flags ?? [])].join(',')}`;
    }
    return true;
  });
}

afterAll(async () => {
  await Promise.all([...sentinels].map((s) => s.stop()));
});

/** A slot being moved from one cluster master to another, by hand, as `redis-cli --cluster reshard` does. */
export class SlotMigration {
  private constructor(
    readonly slot: number,
    readonly sourcePort: number,
    readonly targetPort: number,
    private readonly targetId: string,
  ) {}

  /**
   * Marks `slot` IMPORTING on the target and MIGRATING on the source, then moves `fraction` of its
   * keys (0..1), and stops there: a reshard killed mid-slot.
   */
  static async begin(slot: number, sourcePort: number, targetPort: number, fraction: number): Promise<{ migration: SlotMigration; keys: number; moved: number }> {
    const sourceId = String(await nodeCommand(sourcePort, 'CLUSTER', 'MYID'));
    const targetId = String(await nodeCommand(targetPort, 'CLUSTER', 'MYID'));
    await nodeCommand(targetPort, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId);
    await nodeCommand(sourcePort, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId);
    const m = new SlotMigration(slot, sourcePort, targetPort, targetId);
    const keys = (await nodeCommand(sourcePort, 'CLUSTER', 'GETKEYSINSLOT', slot, 100_000)) as string[];
    const part = keys.slice(0, Math.floor(keys.length * fraction));
    await m.moveKeys(part);
    return { migration: m, keys: keys.length, moved: part.length };
  }

  private async moveKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 100) {
      await nodeCommand(this.sourcePort, 'MIGRATE', '127.0.0.1', this.targetPort, '', 0, 5000, 'REPLACE', 'KEYS', ...keys.slice(i, i + 100));
    }
  }

  /** Moves the keys left and gives the slot to the target on every master (what `redis-cli --cluster fix` ends with). */
  async finish(masterPorts: number[]): Promise<void> {
    for (let round = 0; round < 10; round++) {
      const keys = (await nodeCommand(this.sourcePort, 'CLUSTER', 'GETKEYSINSLOT', this.slot, 100_000)) as string[];
      if (keys.length === 0) break;
      await this.moveKeys(keys);
    }
    // The target first, then the source, then the others, as the reshard tool does.
    const order = [this.targetPort, this.sourcePort, ...masterPorts.filter((p) => p !== this.targetPort && p !== this.sourcePort)];
    for (const port of order) await nodeCommand(port, 'CLUSTER', 'SETSLOT', this.slot, 'NODE', this.targetId);
  }
}

/** The hash slot of `key`, as the cluster computes it. */
export async function slotOf(port: number, key: string): Promise<number> {
  return Number(await nodeCommand(port, 'CLUSTER', 'KEYSLOT', key));
}
