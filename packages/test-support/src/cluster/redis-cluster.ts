/**
 * Throwaway Redis topologies for the cluster suite, started from the local
 * `redis-server` and `redis-cli` binaries (7.0 or newer), on free loopback
 * ports, each server in its own temporary directory, without persistence:
 *
 * - {@link startRedisCluster}: 3 masters + 3 replicas, made with
 *   `redis-cli --cluster create`, with a short node timeout so that a killed
 *   master's replica takes over within seconds;
 * - {@link startSentinelGroup}: one master, one replica and three sentinels
 *   (quorum 2) watching them, failing over about a second after the master dies.
 *
 * Every process is stopped by its PID in `stop()`; a watchdog shell also kills
 * them if the process that started them dies without stopping them (a vitest
 * worker killed on a timeout), so no redis-server outlives the suite.
 *
 * @example
 * ```ts
 * const cluster = await startRedisCluster();
 * const [first] = cluster.masters();
 * await cluster.killMaster(first!.port);
 * const { newMasterPort, ms } = await cluster.waitForPromotion(first!.port);
 * await cluster.stop();
 * ```
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePorts } from '@asyncq/core/testing';
import { HOST, mastersFrom, nodeCommand, nodeInfo, parseClusterNodes, parseInfo, checkRedisBinaries, waitUntil, TOTAL_SLOTS, type ClusterAddresses, type MasterInfo, type NodeAddress, type Promotion } from './nodes.js';
import { replicationArgs, ServerGroup } from './server-group.js';

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** @defaultValue 3 */
  masters?: number;
  /** Replicas per master. @defaultValue 1 */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a node may stay silent before it is
   * suspected. Failover of a killed master takes about twice this.
   * @defaultValue 1500
   */
  nodeTimeoutMs?: number;
  /** How long start-up may take, all waits included. @defaultValue 60000 */
  startTimeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Redis Cluster

/** A running local Redis Cluster; see {@link startRedisCluster}. */
export class RedisCluster {
  private readonly killedAt = new Map<number, { at: number; id: string; replicas: number[] }>();
  private topology: MasterInfo[] = [];

  constructor(
    private readonly group: ServerGroup,
    private readonly expectedReplicas: number,
  ) {}

  /** Every node this cluster was started with (live or not): startup nodes for an ioredis `Cluster`. */
  get nodes(): NodeAddress[] {
    return this.group.servers.map((s) => ({ host: HOST, port: s.port }));
  }

  /** Ports of the nodes now running. */
  get livePorts(): number[] {
    return this.group.servers.filter((s) => s.alive).map((s) => s.port);
  }

  /** The masters as last read (by start-up, {@link refresh}, a wait), ordered by first slot. */
  masters(): MasterInfo[] {
    return this.topology.map((m) => ({ ...m, slots: m.slots.map((r) => [...r] as [number, number]), replicas: [...m.replicas] }));
  }

  /** Plain data for `provide()`. */
  addresses(): ClusterAddresses {
    return { nodes: this.nodes, masters: this.masters() };
  }

  /** Reads the topology again from a live node. */
  async refresh(): Promise<MasterInfo[]> {
    const port = this.livePorts[0];
    if (port === undefined) throw new Error('no node of the cluster is running');
    this.topology = mastersFrom(parseClusterNodes((await nodeCommand(port, 'CLUSTER', 'NODES')) as string));
    return this.masters();
  }

  /**
   * Waits until every running node says `cluster_state:ok` with all 16384
   * slots served, they all agree on which node serves which slots, none of
   * them is flagged as failing, and (with `replicas`, the default) every
   * master has its replicas attached with the replication link up.
   */
  async waitHealthy(ms = 30_000, opts: { replicas?: boolean } = {}): Promise<MasterInfo[]> {
    const wantReplicas = opts.replicas ?? true;
    this.topology = await waitUntil('a healthy cluster', ms, async () => {
      const live = this.livePorts;
      const views: MasterInfo[][] = [];
      for (const port of live) {
        const info = parseInfo((await nodeCommand(port, 'CLUSTER', 'INFO')) as string);
        if (info.get('cluster_state') !== 'ok') return `node ${port}: cluster_state:${info.get('cluster_state')}`;
        if (info.get('cluster_slots_ok') !== String(TOTAL_SLOTS)) return `node ${port}: cluster_slots_ok:${info.get('cluster_slots_ok')}`;
        const lines = parseClusterNodes((await nodeCommand(port, 'CLUSTER', 'NODES')) as string);
        const failing = lines.filter((l) => live.includes(l.port) && (l.flags.has('fail') || l.flags.has('fail?') || !l.connected && !l.flags.has('myself')));
        if (failing.length > 0) return `node ${port} sees ${failing.map((l) => `${l.port}(${[...l.flags].join(',')})`).join(' ')} failing`;
        views.push(mastersFrom(lines.filter((l) => live.includes(l.port))));
      }
      const first = JSON.stringify(views[0]?.map((m) => [m.port, m.slots]));
      if (views.some((v) => JSON.stringify(v.map((m) => [m.port, m.slots])) !== first)) return 'nodes disagree on who serves which slots';
      const masters = views[0] ?? [];
      if (masters.reduce((n, m) => n + m.slots.reduce((k, [a, b]) => k + b - a + 1, 0), 0) !== TOTAL_SLOTS) return 'slots not all assigned';
      if (wantReplicas) {
        for (const m of masters) {
          const replicas = views.map((v) => v.find((x) => x.port === m.port)?.replicas.length ?? 0);
          if (replicas.some((n) => n !== this.expectedReplicas)) return `master ${m.port} has ${replicas.join('/')} replicas in the nodes' views`;
          for (const r of m.replicas) {
            const repl = await nodeInfo(r, 'replication');
            if (repl.get('master_link_status') !== 'up' || repl.get('master_port') !== String(m.port)) {
              return `replica ${r} of ${m.port}: link ${repl.get('master_link_status')} to ${repl.get('master_port')}`;
            }
          }
        }
      }
      return masters;
    }, 100);
    return this.masters();
  }

  /** SIGKILLs the master on `port` (it must be a master now); returns when its process is gone. */
  async killMaster(port: number): Promise<{ killedAt: number; replicas: number[] }> {
    const m = (await this.refresh()).find((x) => x.port === port);
    if (!m) throw new Error(`port ${port} is not a master now (masters: ${this.topology.map((x) => x.port).join(', ')})`);
    const killedAt = Date.now();
    await this.group.byPort(port).stop();
    this.killedAt.set(port, { at: killedAt, id: m.id, replicas: m.replicas });
    return { killedAt, replicas: m.replicas };
  }

  /**
   * Waits until one of the replicas of the master killed on `port` is master
   * of its slots in the view of every running node, with `cluster_state:ok`
   * everywhere.
   */
  async waitForPromotion(port: number, ms = 30_000): Promise<Promotion> {
    const killed = this.killedAt.get(port);
    if (!killed) throw new Error(`no master on port ${port} was killed by killMaster()`);
    const newMasterPort = await waitUntil(`promotion of a replica of ${port}`, ms, async () => {
      let owner: number | undefined;
      for (const p of this.livePorts) {
        const info = parseInfo((await nodeCommand(p, 'CLUSTER', 'INFO')) as string);
        if (info.get('cluster_state') !== 'ok') return `node ${p}: cluster_state:${info.get('cluster_state')}`;
        const masters = mastersFrom(parseClusterNodes((await nodeCommand(p, 'CLUSTER', 'NODES')) as string));
        const heir = masters.find((m) => killed.replicas.includes(m.port) && m.slots.length > 0);
        if (!heir) return `node ${p} sees no replica of ${port} promoted yet`;
        if (owner !== undefined && owner !== heir.port) return `nodes disagree: ${owner} or ${heir.port}`;
        owner = heir.port;
      }
      return owner ?? 'no node is running';
    });
    const msTaken = Date.now() - killed.at;
    await this.refresh();
    return { newMasterPort, ms: msTaken };
  }

  /**
   * Starts again a node that was killed, on its port and directory: with its
   * `nodes.conf` it rejoins the cluster, as a replica of whoever serves its old
   * slots now (its data is gone: no persistence).
   */
  async restartNode(port: number): Promise<void> {
    await this.group.byPort(port).start();
    this.killedAt.delete(port);
  }

  /** Kills every node by PID and removes their directories. */
  stop(): Promise<void> {
    return this.group.stop();
  }
}

/**
 * Starts a local Redis Cluster: `masters` × (1 + `replicasPerMaster`) nodes,
 * slots split evenly by `redis-cli --cluster create`, and waits until it is
 * healthy (see {@link RedisCluster.waitHealthy}).
 */
export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisCluster> {
  checkRedisBinaries();
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 1;
  const total = masters * (1 + replicas);
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  const group = new ServerGroup();
  try {
    group.startWatchdog();
    const ports = await freePorts(total * 2);
    for (let i = 0; i < total; i++) {
      const port = ports[i]!;
      const busPort = ports[total + i]!;
      group.add(port, `node-${port}`, (dir) => ({
        args: [
        ...replicationArgs(),
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, 'nodes.conf'),
        // The bus port is picked free too, rather than the default port + 10000 that might be taken.
        '--cluster-port', String(busPort),
        '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 1500),
        // A replica may take over however long ago it last heard from its master.
        '--cluster-replica-validity-factor', '0',
        ],
      }));
    }
    await Promise.all(group.servers.map((s) => s.start()));
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...group.servers.map((s) => `${HOST}:${s.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      { encoding: 'utf8', timeout: Math.max(5000, deadline - Date.now()) },
    );
    if (create.status !== 0) {
      throw new Error(`redis-cli --cluster create failed (${create.status ?? create.signal}): ${(create.stdout + create.stderr).slice(-1500)}`);
    }
    const cluster = new RedisCluster(group, replicas);
    const found = await cluster.waitHealthy(Math.max(1000, deadline - Date.now()));
    if (found.length !== masters) throw new Error(`expected ${masters} masters, the cluster has ${found.length}`);
    return cluster;
  } catch (e) {
    await group.stop();
    throw e;
  }
}
