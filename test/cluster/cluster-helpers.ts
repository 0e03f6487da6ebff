/**
 * Helpers of the cluster suite: the shared cluster's addresses, asyncq queues
 * on a cluster (closed, leak-checked and cleaned after each test), direct
 * admin connections to the masters for SCAN, INFO and consistent snapshots of
 * a queue's ready tasks across partitions, and picking queue names by master.
 */
import { execFile } from 'node:child_process';
import { Cluster, Redis, type ClusterOptions } from 'ioredis';
import { afterAll, afterEach, inject, onTestFailed } from 'vitest';
import { Queue, type QueueOptions } from '@asyncq/core';
import { type ClusterAddresses, eventually, HOST, type MasterInfo, type NodeAddress, sleep, spawnChild, type TestChild, uniqueName } from '@asyncq/test-support';

/** The shared cluster the global set-up started. */
export function sharedCluster(): ClusterAddresses {
  return inject('redisCluster');
}

// One source for these, shared with the single-Redis suite (its hooks do nothing for cluster tests).

/** The `connection` forms the cluster-aware core accepts (ioredis' own spelling for Sentinel). */
export type ClusterConnection =
  | Cluster
  | { cluster: NodeAddress[]; clusterOptions?: ClusterOptions }
  | { sentinels: NodeAddress[]; name: string };

/** {@link QueueOptions} as the cluster-aware core takes them: a cluster connection and `partitions`. */
export interface ClusterQueueOptions extends Omit<QueueOptions, 'connection'> {
  connection: ClusterConnection;
  partitions?: number;
}

/**
 * `new Queue(name, opts)` with a cluster connection or `partitions`. The cast
 * is the one place where the suite runs ahead of today's `QueueOptions` type;
 * drop it once the core declares both.
 */
export function newQueue<T>(name: string, opts: ClusterQueueOptions): Queue<T> {
  return new Queue<T>(name, opts as unknown as QueueOptions);
}

// ---------------------------------------------------------------------------------------------
// Admin connections to the masters

/**
 * One direct connection per master, for what a cluster client cannot do:
 * SCAN a node, read INFO per node, and pause writes on every master at once.
 */
export class MasterAdmin {
  readonly clients: Map<number, Redis>;

  constructor(readonly ports: number[]) {
    this.clients = new Map(ports.map((port) => [port, new Redis({ host: HOST, port, maxRetriesPerRequest: 2, connectionName: 'asyncq-test-admin' })]));
    for (const c of this.clients.values()) c.on('error', () => {});
  }

  client(port: number): Redis {
    const c = this.clients.get(port);
    if (!c) throw new Error(`no admin connection to ${port}`);
    return c;
  }

  /** Every key matching `pattern` on each master (SCAN, bounded to 200 000 keys per master). */
  async scan(pattern: string): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (const [port, c] of this.clients) {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await c.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        keys.push(...batch);
        cursor = next;
      } while (cursor !== '0' && keys.length < 200_000);
      out.set(port, keys);
    }
    return out;
  }

  /**
   * The hash tags of queue `name`'s keys — `{name}` unpartitioned, `{name#…}`
   * per partition — and the master holding each, found by SCAN on every
   * master rather than assumed.
   */
  async queueTags(name: string): Promise<Map<string, number>> {
    const tags = new Map<string, number>();
    for (const pattern of [`asyncq:{${name}}:*`, `asyncq:{${name}#*`]) {
      for (const [port, keys] of await this.scan(pattern)) {
        for (const k of keys) {
          const tag = /\{[^}]*\}/.exec(k)?.[0];
          if (tag) tags.set(tag, port);
        }
      }
    }
    return tags;
  }

  /**
   * Ready tasks (LLEN wait + ZCARD prioritized + ZCARD delayed + LLEN paused)
   * of each tag, as one consistent state. Tags on one master are read in one
   * MULTI. Tags on several masters are read while writes are paused on every
   * master (`CLIENT PAUSE WRITE`, lifted at once, 2 s at most): no master
   * changes between the first and last read, and each stopped at a point
   * where everything that caused its state had happened, so the sum is a
   * state the queue really passed through, never two moments added up.
   */
  async readySnapshot(tags: Map<string, number>): Promise<{ total: number; byTag: Map<string, number> }> {
    const masters = [...new Set(tags.values())];
    const read = async (): Promise<Map<string, number>> => {
      const byTag = new Map<string, number>();
      await Promise.all(
        [...tags].map(async ([tag, port]) => {
          const base = `asyncq:${tag}`;
          const res = await this.client(port)
            .multi()
            .llen(`${base}:wait`)
            .zcard(`${base}:prioritized`)
            .zcard(`${base}:delayed`)
            .llen(`${base}:paused`)
            .exec();
          byTag.set(tag, (res ?? []).reduce((n, [err, v]) => n + (err ? Number.NaN : Number(v)), 0));
        }),
      );
      return byTag;
    };
    let byTag: Map<string, number>;
    if (masters.length <= 1) byTag = await read();
    else {
      try {
        await Promise.all(masters.map((p) => this.client(p).call('CLIENT', 'PAUSE', 2000, 'WRITE')));
        byTag = await read();
      } finally {
        await Promise.all(masters.map((p) => this.client(p).call('CLIENT', 'UNPAUSE')));
      }
    }
    return { total: [...byTag.values()].reduce((a, b) => a + b, 0), byTag };
  }

  /** Connections named `asyncq:<name>` (asyncq's naming) on each given node. */
  async connectionsOf(name: string, ports: number[]): Promise<number> {
    let n = 0;
    for (const port of ports) {
      const list = await withNodeClient(port, (r) => r.client('LIST') as Promise<string>);
      n += list.split('\n').filter((l) => l.includes(` name=asyncq:${name} `)).length;
    }
    return n;
  }

  /** Deletes every key of queue `name` (all partitions). */
  async deleteQueue(name: string): Promise<void> {
    for (const pattern of [`asyncq:{${name}}:*`, `asyncq:{${name}#*`]) {
      for (const [port, keys] of await this.scan(pattern)) {
        for (let i = 0; i < keys.length; i += 500) {
          const p = this.client(port).pipeline();
          for (const k of keys.slice(i, i + 500)) p.unlink(k);
          await p.exec();
        }
      }
    }
  }

  /** Per-master INFO section as field maps. */
  async info(section: string): Promise<Map<number, Map<string, string>>> {
    const out = new Map<number, Map<string, string>>();
    for (const [port, c] of this.clients) {
      const text = await c.info(section);
      const m = new Map<string, string>();
      for (const line of text.split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
      }
      out.set(port, m);
    }
    return out;
  }

  close(): void {
    for (const c of this.clients.values()) c.disconnect();
  }
}

async function withNodeClient<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/** The master serving `slot` in `masters`. */
export function masterOfSlot(masters: MasterInfo[], slot: number): MasterInfo {
  const m = masters.find((x) => x.slots.some(([a, b]) => slot >= a && slot <= b));
  if (!m) throw new Error(`no master serves slot ${slot}`);
  return m;
}

/** The slot of `key`, as the server computes it (CLUSTER KEYSLOT). */
export async function keySlot(client: Redis | Cluster, key: string): Promise<number> {
  return Number(await client.call('CLUSTER', 'KEYSLOT', key));
}

/**
 * Fresh queue names, `perMaster` of them whose `{name}` hash tag falls on each
 * master, grouped by master port (checked with CLUSTER KEYSLOT).
 */
export async function namesOnEachMaster(client: Redis, masters: MasterInfo[], perMaster: number, label = 'q'): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>(masters.map((m) => [m.port, []]));
  for (let tries = 0; tries < 1000 && [...out.values()].some((n) => n.length < perMaster); tries++) {
    const name = uniqueName(label);
    const port = masterOfSlot(masters, await keySlot(client, `{${name}}`)).port;
    const list = out.get(port)!;
    if (list.length < perMaster) list.push(name);
  }
  if ([...out.values()].some((n) => n.length < perMaster)) throw new Error('could not find queue names for every master');
  return out;
}

// ---------------------------------------------------------------------------------------------
// What a test opens, closed and checked afterwards

interface Closable {
  close(): Promise<void> | void;
}

interface Opened {
  closables: Closable[];
  /** Queue names whose connections must be gone after the test, and whose keys are deleted if it passed. */
  queues: Set<string>;
  /** Nodes to look for leaked connections on, and masters to clean. */
  nodes: number[];
  masters: number[];
}

const opened: Opened = { closables: [], queues: new Set(), nodes: [], masters: [] };
let failed = false;
let sharedAdmin: MasterAdmin | undefined;

/** Admin connections to the shared cluster's masters (closed after the file). */
export function admin(): MasterAdmin {
  sharedAdmin ??= new MasterAdmin(sharedCluster().masters.map((m) => m.port));
  return sharedAdmin;
}

/**
 * Registers what a test opened: closed after it (newest first), then the queues' connections
 * must be gone from every node (a test fails if it leaks one), and their keys
 * are deleted unless the test failed (kept for inspection).
 */
export function track<C extends Closable>(c: C, queues: string[] = [], where?: { nodes: number[]; masters: number[] }): C {
  if (opened.closables.length === 0 && opened.queues.size === 0) onTestFailed(() => void (failed = true));
  opened.closables.push(c);
  for (const q of queues) opened.queues.add(q);
  const w = where ?? { nodes: sharedCluster().nodes.map((n) => n.port), masters: sharedCluster().masters.map((m) => m.port) };
  opened.nodes = [...new Set([...opened.nodes, ...w.nodes])];
  opened.masters = [...new Set([...opened.masters, ...w.masters])];
  return c;
}

/** A Queue on a cluster connection, tracked (see {@link track}). */
export function openQueue<T>(name: string, opts: ClusterQueueOptions, where?: { nodes: number[]; masters: number[] }): Queue<T> {
  return track(newQueue<T>(name, opts), [name], where);
}

/** An ioredis Cluster on `nodes` (the shared cluster by default), tracked. */
export function openCluster(nodes: NodeAddress[] = sharedCluster().nodes, opts: ClusterOptions = {}): Cluster {
  const c = new Cluster(nodes, opts);
  c.on('error', () => {});
  track({ close: () => closeCluster(c) });
  return c;
}

/** Quits a Cluster client, or drops it when it cannot quit cleanly (a node was killed). */
export async function closeCluster(c: Cluster): Promise<void> {
  await Promise.race([c.quit().catch(() => undefined), sleep(2000)]);
  c.disconnect();
}

afterEach(async () => {
  const { closables, queues, nodes, masters } = opened;
  opened.closables = [];
  opened.queues = new Set();
  opened.nodes = [];
  opened.masters = [];
  // Newest first, one at a time: queues close before the Cluster client they were given.
  const errors: unknown[] = [];
  for (const c of closables.reverse()) {
    try {
      await c.close();
    } catch (e) {
      errors.push(e);
    }
  }
  const wasFailed = failed;
  failed = false;
  if (wasFailed) return; // keys and connections stay as they were, for inspection
  if (errors.length > 0) throw errors[0];
  const live = await liveOf(nodes);
  const a = new MasterAdmin(await liveOf(masters));
  try {
    for (const q of queues) {
      await eventually(async () => {
        const n = await a.connectionsOf(q, live);
        if (n !== 0) throw new Error(`queue ${q} leaked ${n} Redis connection(s) after its handles were closed`);
      }, 3000);
      await a.deleteQueue(q);
    }
  } finally {
    a.close();
  }
});

/** The ports of `ports` that answer (a test may have killed some). */
async function liveOf(ports: number[]): Promise<number[]> {
  const out: number[] = [];
  for (const p of ports) {
    const ok = await withNodeClient(p, async (r) => (await r.ping()) === 'PONG').catch(() => false);
    if (ok) out.push(p);
  }
  return out;
}

afterAll(async () => {
  sharedAdmin?.close();
  sharedAdmin = undefined;
});

// ---------------------------------------------------------------------------------------------
// The CLI as a subprocess

export const CLI_BIN = new URL('../../packages/cli/dist/bin.js', import.meta.url).pathname;

/** Runs `asyncq args...` to completion with `env` (REDIS_URL removed, so only the given target counts). */
export function runCli(args: string[], env: Record<string, string> = {}, timeout = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { ...process.env };
  delete base.REDIS_URL;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI_BIN, ...args], { env: { ...base, ...env }, timeout }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Child processes

const CHILD = new URL('./fixtures/cluster-child.mjs', import.meta.url);

/**
 * Starts fixtures/cluster-child.mjs in `role` on `queues`, connected with
 * `connection` (the shared cluster's `{ cluster: nodes }` by default): it is
 * killed after the test if still running.
 */
export function clusterChild(
  role: 'produce' | 'consume' | 'hold' | 'join',
  queues: string[],
  args: (string | number)[] = [],
  opts: Record<string, unknown> = {},
  connection: ClusterConnection = { cluster: sharedCluster().nodes },
): TestChild {
  return spawnChild(CHILD, [role, queues.join(','), ...args.map(String)], {
    ASYNCQ_TEST_CONNECTION: JSON.stringify(connection),
    ASYNCQ_TEST_OPTS: JSON.stringify(opts),
  });
}

/** Whether a child is still running (a sampling loop stops when one dies, instead of running out its time). */
export function isRunning(c: TestChild): boolean {
  return c.proc.exitCode === null && c.proc.signalCode === null;
}

/**
 * `p`, or the failure of the first of `children` to exit before it settles
 * (with that child's stderr): a phase that needs its children alive ends at
 * once when one dies, instead of running out its own timeout.
 */
export function whileRunning<T>(children: TestChild[], p: Promise<T>): Promise<T> {
  const died = children.map((c) => c.exited.then(() => c.next('(still running)', 1)).then(() => undefined as never));
  return Promise.race([p, ...died]);
}

/** The data of a task the fixture's producers put. */
export interface Item {
  p: string;
  i: number;
}

export const itemKey = (d: unknown): string => `${(d as Item).p}:${(d as Item).i}`;

/** Values that occur more than once in `xs`, with how often. */
export function duplicates(xs: string[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const x of xs) seen.set(x, (seen.get(x) ?? 0) + 1);
  return new Map([...seen].filter(([, n]) => n > 1));
}
