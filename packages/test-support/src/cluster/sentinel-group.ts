import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts } from '@asyncq/core/testing';
import { HOST, nodeCommand, nodeInfo, checkRedisBinaries, waitUntil, type NodeAddress, type Promotion } from './nodes.js';
import { replicationArgs, ServerGroup } from './server-group.js';

// ---------------------------------------------------------------------------------------------
// Sentinel

/** Options of {@link startSentinelGroup}. */
export interface SentinelGroupOptions {
  /** The master's name in the sentinels' configuration. @defaultValue 'mymaster' */
  name?: string;
  /** `down-after-milliseconds`. @defaultValue 1000 */
  downAfterMs?: number;
  /** `failover-timeout`. @defaultValue 3000 */
  failoverTimeoutMs?: number;
  /** @defaultValue 60000 */
  startTimeoutMs?: number;
}

/** A master, one replica and three sentinels; see {@link startSentinelGroup}. */
export class SentinelGroup {
  private killed: { port: number; at: number } | undefined;

  constructor(
    private readonly group: ServerGroup,
    readonly name: string,
    private currentMaster: number,
    private currentReplica: number,
    private readonly sentinelPorts: number[],
  ) {}

  /** Where the sentinels listen: what ioredis' `sentinels` option takes. */
  get sentinels(): NodeAddress[] {
    return this.sentinelPorts.map((port) => ({ host: HOST, port }));
  }

  /** The master's port as of start-up or the last failover this group waited for. */
  get masterPort(): number {
    return this.currentMaster;
  }

  get replicaPort(): number {
    return this.currentReplica;
  }

  /** ioredis options for a client that finds the master through the sentinels. */
  connectionOptions(): { sentinels: NodeAddress[]; name: string } {
    return { sentinels: this.sentinels, name: this.name };
  }

  /** SIGKILLs the master; resolves when its process is gone. */
  async killMaster(): Promise<{ killedAt: number; port: number }> {
    const port = this.currentMaster;
    const at = Date.now();
    await this.group.byPort(port).stop();
    this.killed = { port, at };
    return { killedAt: at, port };
  }

  /**
   * Waits until every sentinel names the old replica as master and that
   * server says it is one (`ROLE`).
   */
  async waitForFailover(ms = 30_000): Promise<Promotion> {
    const killed = this.killed;
    if (!killed) throw new Error('killMaster() was not called');
    const heir = this.currentReplica;
    await waitUntil(`failover of ${this.name} to ${heir}`, ms, async () => {
      for (const s of this.sentinelPorts) {
        const addr = (await nodeCommand(s, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name)) as [string, string] | null;
        if (addr?.[1] !== String(heir)) return `sentinel ${s} names ${addr?.join(':')}`;
      }
      const role = (await nodeCommand(heir, 'ROLE')) as unknown[];
      return role[0] === 'master' ? true : `${heir} is still ${String(role[0])}`;
    });
    this.currentMaster = heir;
    this.currentReplica = killed.port;
    this.killed = undefined;
    return { newMasterPort: heir, ms: Date.now() - killed.at };
  }

  /** Kills every process by PID and removes their directories. */
  stop(): Promise<void> {
    return this.group.stop();
  }
}

/**
 * Starts a master, a replica of it and three sentinels (quorum 2) that
 * monitor it, and waits until the replica is in sync and every sentinel
 * knows the replica and the two other sentinels, so that a failover can start
 * as soon as the master dies.
 */
export async function startSentinelGroup(opts: SentinelGroupOptions = {}): Promise<SentinelGroup> {
  checkRedisBinaries();
  const name = opts.name ?? 'mymaster';
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  const group = new ServerGroup();
  try {
    group.startWatchdog();
    const [masterPort, replicaPort, ...sentinelPorts] = (await freePorts(5)) as [number, number, number, number, number];
    const master = group.add(masterPort, `master-${masterPort}`, () => ({ args: replicationArgs() }));
    const replica = group.add(replicaPort, `replica-${replicaPort}`, () => ({ args: [...replicationArgs(), '--replicaof', HOST, String(masterPort)] }));
    await master.start();
    await replica.start();
    for (const port of sentinelPorts) {
      const s = group.add(port, `sentinel-${port}`, (dir) => {
        // A sentinel rewrites its configuration file, so it gets one of its own.
        const conf = join(dir, 'sentinel.conf');
        writeFileSync(
          conf,
          [
            `port ${port}`,
            `bind ${HOST}`,
            `dir ${dir}`,
            `sentinel monitor ${name} ${HOST} ${masterPort} 2`,
            `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 1000}`,
            `sentinel failover-timeout ${name} ${opts.failoverTimeoutMs ?? 3000}`,
            `sentinel parallel-syncs ${name} 1`,
            '',
          ].join('\n'),
        );
        return { config: conf, args: ['--sentinel'], readyLine: 'Sentinel ID is' };
      });
      await s.start();
    }
    await waitUntil('a ready sentinel group', Math.max(1000, deadline - Date.now()), async () => {
      const repl = await nodeInfo(replicaPort, 'replication');
      if (repl.get('master_link_status') !== 'up') return `replica link ${repl.get('master_link_status')}`;
      for (const port of sentinelPorts) {
        const fields = (await nodeCommand(port, 'SENTINEL', 'MASTER', name)) as string[];
        const m = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
        if (m.get('flags') !== 'master') return `sentinel ${port}: flags ${m.get('flags')}`;
        if (m.get('num-slaves') !== '1') return `sentinel ${port} knows ${m.get('num-slaves')} replicas`;
        if (m.get('num-other-sentinels') !== '2') return `sentinel ${port} knows ${m.get('num-other-sentinels')} other sentinels`;
      }
      return true;
    }, 100);
    return new SentinelGroup(group, name, masterPort, replicaPort, sentinelPorts);
  } catch (e) {
    await group.stop();
    throw e;
  }
}
