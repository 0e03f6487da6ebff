/**
 * `pnpm bench:cluster`: one queue with `partitions: 3` on a 3-master Redis
 * Cluster, side by side with the same queue unpartitioned (one hash slot, so
 * one master), both through an ioredis `Cluster` connection:
 *
 * 1. throughput of put -> get -> taskDone of no-op tasks (64 concurrent puts,
 *    consumer concurrency 16, one process), with each master's CPU time over
 *    the run (INFO cpu deltas);
 * 2. the put gate: commands per `put` on a bounded queue (`maxsize`) and on an
 *    unbounded one, from INFO commandstats deltas per master (every command,
 *    those run inside scripts included) and from MONITOR (only the commands
 *    clients sent: the round trips), less what the same handle does idle for
 *    as long.
 *
 * Uses the cluster named by ASYNCQ_BENCH_CLUSTER (`host:port,...`; it should
 * have exactly 3 masters), else starts a private one (3 masters, no replicas)
 * from `redis-server` and `redis-cli` on free loopback ports and stops it at
 * the end. BENCH_TASKS (default 20000), BENCH_ROUNDS (default 3),
 * BENCH_GATE_PUTS (default 2000) size the run.
 *
 * Needs a core whose `connection` takes an ioredis `Cluster` and whose
 * `QueueOptions` has `partitions` (issue 12): until then the first put fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { Queue, type QueueOptions } from '@asyncq/core';
import { freePorts } from '@asyncq/core/testing';
import { fmtInt as fmt, median } from './stats.js';

const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const GATE_PUTS = Number(process.env.BENCH_GATE_PUTS ?? 2000);
const CONCURRENCY = 16;
const PRODUCERS = 64;
const HOST = '127.0.0.1';

interface Layout {
  label: string;
  partitions?: number;
}

const LAYOUTS: Layout[] = [{ label: 'unpartitioned' }, { label: 'partitions: 3', partitions: 3 }];

interface NodeAddress {
  host: string;
  port: number;
}

/** A queue on the cluster. The cast runs ahead of today's QueueOptions (no Cluster, no partitions). */
function clusterQueue<T>(name: string, connection: Cluster, layout: Layout, maxsize = 0): Queue<T> {
  const opts = { connection, maxsize, ...(layout.partitions ? { partitions: layout.partitions } : {}) };
  return new Queue<T>(name, opts as unknown as QueueOptions);
}

async function main(): Promise<void> {
  const given = process.env.ASYNCQ_BENCH_CLUSTER;
  const local = given ? undefined : await startLocalCluster(3);
  const nodes = given ? parseNodes(given) : local!.nodes;
  const masters = await masterPorts(nodes);
  const admins = new Map(masters.map((p) => [p, new Redis({ host: nodes.find((n) => n.port === p)?.host ?? HOST, port: p })]));
  const connection = new Cluster(nodes);
  try {
    console.log(
      `asyncq cluster benchmark: ${TASKS} no-op tasks per round, ${ROUNDS} rounds, consumer concurrency ${CONCURRENCY}, ${PRODUCERS} concurrent producers; ` +
        `masters ${masters.join(', ')}${local ? ' (private cluster, no replicas)' : ''}`,
    );
    if (masters.length !== 3) console.log(`  note: the cluster has ${masters.length} masters, not 3`);

    const results = new Map(LAYOUTS.map((l) => [l.label, [] as RunResult[]]));
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first so neither always meets warmer servers.
      const order = r % 2 === 0 ? LAYOUTS : [...LAYOUTS].reverse();
      for (const layout of order) {
        const res = await throughput(connection, admins, layout);
        results.get(layout.label)!.push(res);
        console.log(`  round ${r + 1} ${layout.label}: ${fmt(res.tasksPerSec)} tasks/s, CPU ms per master ${fmtPerMaster(res.cpuMs, masters)}`);
      }
    }
    console.log('throughput (median over rounds) and Redis CPU per 1000 tasks, per master:');
    for (const layout of LAYOUTS) {
      const runs = results.get(layout.label)!;
      const cpuPer1000 = new Map(masters.map((p) => [p, median(runs.map((x) => ((x.cpuMs.get(p) ?? 0) / TASKS) * 1000))]));
      const busiest = median(runs.map((x) => Math.max(...x.cpuMs.values()) / x.wallMs));
      console.log(
        `  ${layout.label.padEnd(14)} ${fmt(median(runs.map((x) => x.tasksPerSec))).padStart(8)} tasks/s   CPU ms/1000 tasks ${fmtPerMaster(cpuPer1000, masters)}   busiest master ${(busiest * 100).toFixed(0)}% busy`,
      );
    }

    console.log(`put gate: commands per put over ${GATE_PUTS} sequential puts, less the same handle idle for as long:`);
    for (const layout of LAYOUTS) {
      for (const maxsize of [0, GATE_PUTS * 2]) {
        const g = await gateCost(connection, admins, layout, maxsize);
        console.log(
          `  ${layout.label.padEnd(14)} ${maxsize ? `maxsize ${maxsize}` : 'unbounded'.padEnd(13)}  round trips ${g.roundTrips.toFixed(2)} ` +
            `(per master ${fmtPerMaster(g.roundTripsByMaster, masters, 2)}), script calls ${g.scriptCalls.toFixed(2)}, all commands incl. in scripts ${g.allCommands.toFixed(2)}`,
        );
        if (g.top.length) console.log(`    most per put: ${g.top.join(', ')}`);
      }
    }
  } finally {
    for (const a of admins.values()) a.disconnect();
    connection.disconnect();
    await local?.stop();
  }
}

interface RunResult {
  tasksPerSec: number;
  wallMs: number;
  cpuMs: Map<number, number>;
}

async function throughput(connection: Cluster, admins: Map<number, Redis>, layout: Layout): Promise<RunResult> {
  const name = `bench-${randomBytes(4).toString('hex')}`;
  const producer = clusterQueue<number>(name, connection, layout);
  const consumer = clusterQueue<number>(name, connection, layout);
  await producer.qsize(); // connect before the clock starts
  await consumer.getNowait().catch(() => {});
  const cpu0 = await cpuByMaster(admins);
  const t0 = performance.now();
  let next = 0;
  const produce = async (): Promise<void> => {
    while (next < TASKS) await producer.put(next++);
  };
  const stop = new AbortController();
  setMaxListeners(CONCURRENCY + 1, stop.signal);
  let done = 0;
  const consume = async (): Promise<void> => {
    while (!stop.signal.aborted) {
      const task = await consumer.getTask({ signal: stop.signal }).catch(() => undefined);
      if (!task) continue;
      await task.done();
      if (++done === TASKS) stop.abort();
    }
  };
  await Promise.all([...Array.from({ length: PRODUCERS }, produce), ...Array.from({ length: CONCURRENCY }, consume)]);
  const wallMs = performance.now() - t0;
  const cpu1 = await cpuByMaster(admins);
  await Promise.all([producer.close(), consumer.close()]);
  await deleteQueue(admins, name);
  return { tasksPerSec: (TASKS / wallMs) * 1000, wallMs, cpuMs: new Map([...cpu1].map(([p, v]) => [p, v - (cpu0.get(p) ?? 0)])) };
}

interface GateResult {
  roundTrips: number;
  roundTripsByMaster: Map<number, number>;
  scriptCalls: number;
  allCommands: number;
  top: string[];
}

/** Commands per put: a window of GATE_PUTS sequential puts minus an idle window of the same length. */
async function gateCost(connection: Cluster, admins: Map<number, Redis>, layout: Layout, maxsize: number): Promise<GateResult> {
  const name = `bench-gate-${randomBytes(4).toString('hex')}`;
  const q = clusterQueue<number>(name, connection, layout, maxsize);
  for (let i = 0; i < 10; i++) await q.put(-1); // connected, scripts loaded, every partition touched
  const window = async (work: () => Promise<void>, ms?: number): Promise<{ sent: Map<number, number>; stats: Map<string, number>; ms: number }> => {
    const monitors = await Promise.all([...admins.keys()].map((p) => watchCommands(p)));
    const before = await commandStats(admins);
    const t0 = performance.now();
    await work();
    if (ms !== undefined) await new Promise((r) => setTimeout(r, Math.max(0, ms - (performance.now() - t0))));
    const took = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 100)); // let MONITOR lines arrive
    const after = await commandStats(admins);
    const sent = new Map<number, number>();
    for (const m of monitors) sent.set(m.port, m.stop());
    const stats = new Map<string, number>();
    for (const [k, v] of after) stats.set(k, v - (before.get(k) ?? 0));
    return { sent, stats, ms: took };
  };
  const busy = await window(async () => {
    for (let i = 0; i < GATE_PUTS; i++) await q.put(i);
  });
  const idle = await window(async () => {}, busy.ms);
  await q.close();
  await deleteQueue(admins, name);

  const perPut = (a: number, b: number): number => Math.max(0, a - b) / GATE_PUTS;
  const roundTripsByMaster = new Map([...busy.sent].map(([p, n]) => [p, perPut(n, idle.sent.get(p) ?? 0)]));
  const commandDelta = new Map<string, number>();
  for (const [k, v] of busy.stats) {
    if (k === 'info') continue; // ours
    commandDelta.set(k, perPut(v, idle.stats.get(k) ?? 0));
  }
  const scriptCalls = ['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro'].reduce((n, k) => n + (commandDelta.get(k) ?? 0), 0);
  return {
    roundTrips: [...roundTripsByMaster.values()].reduce((a, b) => a + b, 0),
    roundTripsByMaster,
    scriptCalls,
    allCommands: [...commandDelta.values()].reduce((a, b) => a + b, 0),
    top: [...commandDelta]
      .filter(([, v]) => v >= 0.01)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`),
  };
}

/** Counts the commands clients send to one master (MONITOR; commands run by scripts are left out). */
async function watchCommands(port: number): Promise<{ port: number; stop(): number }> {
  const r = new Redis({ host: HOST, port });
  const monitor = await r.monitor();
  let n = 0;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const cmd = (args[0] ?? '').toLowerCase();
    if (source === 'lua' || cmd === 'info' || cmd === 'monitor') return;
    n++;
  });
  return {
    port,
    stop: () => {
      monitor.disconnect();
      r.disconnect();
      return n;
    },
  };
}

/** `INFO commandstats` summed over the masters: command -> calls. */
async function commandStats(admins: Map<number, Redis>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const a of admins.values()) {
    for (const m of (await a.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
    }
  }
  return out;
}

/** CPU time (user + sys, ms) of each master since it started. */
async function cpuByMaster(admins: Map<number, Redis>): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const [port, a] of admins) {
    const info = await a.info('cpu');
    const get = (f: string): number => Number(new RegExp(`^${f}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    out.set(port, (get('used_cpu_user') + get('used_cpu_sys')) * 1000);
  }
  return out;
}

async function deleteQueue(admins: Map<number, Redis>, name: string): Promise<void> {
  for (const a of admins.values()) {
    for (const pattern of [`asyncq:{${name}}:*`, `asyncq:{${name}#*`]) {
      let cursor = '0';
      let rounds = 0;
      do {
        const [next, keys] = await a.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        if (keys.length) await Promise.all(keys.map((k) => a.unlink(k)));
        cursor = next;
      } while (cursor !== '0' && ++rounds < 10_000);
    }
  }
}

function fmtPerMaster(m: Map<number, number>, masters: number[], digits = 0): string {
  return masters.map((p) => (m.get(p) ?? 0).toFixed(digits)).join(' / ');
}

function parseNodes(list: string): NodeAddress[] {
  return list.split(',').map((hp) => {
    const i = hp.lastIndexOf(':');
    const port = Number(hp.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port)) throw new Error(`ASYNCQ_BENCH_CLUSTER must be host:port,host:port,..., got ${JSON.stringify(hp)}`);
    return { host: hp.slice(0, i), port };
  });
}

/** Ports of the masters that serve slots, from CLUSTER NODES. */
async function masterPorts(nodes: NodeAddress[]): Promise<number[]> {
  const r = new Redis({ ...nodes[0]!, lazyConnect: true });
  try {
    await r.connect();
    const text = (await r.call('CLUSTER', 'NODES')) as string;
    return text
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[2]?.includes('master') && !f[2].includes('fail') && f.length > 8)
      .map((f) => Number(/:(\d+)@/.exec(f[1]!)?.[1]))
      .sort((a, b) => a - b);
  } finally {
    r.disconnect();
  }
}

// --- a private cluster, for runs without ASYNCQ_BENCH_CLUSTER (@asyncq/test-support's startRedisCluster is
// the suite's fuller launcher, with replicas, kills and Sentinel; the bench cannot import test code).

async function startLocalCluster(masters: number): Promise<{ nodes: NodeAddress[]; stop(): Promise<void> }> {
  for (const bin of ['redis-server', 'redis-cli']) {
    if (spawnSync(bin, ['--version'], { stdio: 'ignore' }).error) {
      throw new Error(`bench:cluster needs ${bin} 7+ on PATH (apt-get install redis-server), or ASYNCQ_BENCH_CLUSTER naming a running cluster`);
    }
  }
  const root = mkdtempSync(join(tmpdir(), 'asyncq-bench-cluster-'));
  const ports = await freePorts(masters * 2);
  const procs: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    process.off('SIGINT', onSignal);
    await Promise.all(
      procs.map((p) =>
        p.exitCode !== null || p.signalCode !== null ? undefined : new Promise((r) => (p.once('exit', r), p.kill('SIGKILL'))),
      ),
    );
    rmSync(root, { recursive: true, force: true });
  };
  function onSignal(): void {
    void stop().then(() => process.exit(130));
  }
  process.once('SIGINT', onSignal);
  try {
    for (let i = 0; i < masters; i++) {
      const [port, bus] = [ports[i]!, ports[masters + i]!];
      const dir = join(root, String(port));
      const args = ['--port', String(port), '--bind', HOST, '--dir', root, '--logfile', `${dir}.log`, '--save', '', '--appendonly', 'no'];
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', `${dir}.nodes.conf`, '--cluster-port', String(bus));
      procs.push(spawn('redis-server', args, { stdio: 'ignore' }));
    }
    await waitFor('redis-servers answering', 10_000, async () => {
      for (const p of ports.slice(0, masters)) {
        const r = new Redis({ host: HOST, port: p, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
        r.on('error', () => {});
        try {
          await r.connect();
          await r.ping();
        } finally {
          r.disconnect();
        }
      }
    });
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.slice(0, masters).map((p) => `${HOST}:${p}`), '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${(create.stdout + create.stderr).slice(-1000)}`);
    await waitFor('cluster_state:ok on every node', 30_000, async () => {
      for (const p of ports.slice(0, masters)) {
        const r = new Redis({ host: HOST, port: p });
        try {
          const info = (await r.call('CLUSTER', 'INFO')) as string;
          if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${masters}`)) throw new Error(`node ${p} not ok yet`);
        } finally {
          r.disconnect();
        }
      }
    });
    return { nodes: ports.slice(0, masters).map((port) => ({ host: HOST, port })), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function waitFor(what: string, ms: number, check: () => Promise<void>): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms (${(e as Error).message})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
