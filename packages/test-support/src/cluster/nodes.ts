// Addresses, topology types and one-node commands that the Cluster and Sentinel harnesses share.
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { sleep } from '../timing.js';

export const HOST = '127.0.0.1';

/** Where one server listens. */
export interface NodeAddress {
  host: string;
  port: number;
}

/** A master as the cluster reports it: its slot ranges (inclusive) and the ports of its replicas. */
export interface MasterInfo {
  id: string;
  port: number;
  slots: [number, number][];
  replicas: number[];
}

/** What the global set-up hands to tests (plain data: it crosses into the test workers). */
export interface ClusterAddresses {
  /** Every node, masters and replicas: startup nodes for an ioredis `Cluster`. */
  nodes: NodeAddress[];
  /** The masters, ordered by their first slot. */
  masters: MasterInfo[];
}

/** The outcome of a failover the suite caused. */
export interface Promotion {
  /** The port of the replica that is master now. */
  newMasterPort: number;
  /** From the kill to every live node agreeing on the new master. */
  ms: number;
}

/** Slots of a Redis Cluster. */
export const TOTAL_SLOTS = 16384;

// ---------------------------------------------------------------------------------------------
// Binaries and ports

/**
 * Throws one line naming what is missing when `redis-server` or `redis-cli`
 * is not on PATH or older than 7.0 (the suite uses `--cluster-port` and 7.0's
 * `CLIENT PAUSE WRITE`).
 */
export function checkRedisBinaries(): void {
  for (const bin of ['redis-server', 'redis-cli']) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 });
    if (r.error) {
      const why = (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is not installed' : `does not run (${r.error.message})`;
      throw new Error(`the cluster suite needs ${bin} 7.0+ on PATH, and ${bin} ${why}: apt-get install redis-server (or brew install redis)`);
    }
    const major = Number(/(?:v=|redis-cli )(\d+)\./.exec(r.stdout)?.[1] ?? 0);
    if (major < 7) {
      throw new Error(`the cluster suite needs ${bin} 7.0+, found "${r.stdout.trim()}": install Redis 7 (apt-get install redis-server on a recent distribution)`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Talking to one node

/**
 * Runs `fn` on a fresh connection to one node and closes it. A fresh
 * connection per check keeps the waits below free of reconnect state: a node
 * that was killed simply fails the check (within `timeoutMs`).
 */
export async function withNode<T>(port: number, fn: (r: Redis) => Promise<T>, timeoutMs = 1500): Promise<T> {
  const r = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/** One command on one node. */
export function nodeCommand(port: number, command: string, ...args: (string | number)[]): Promise<unknown> {
  return withNode(port, (r) => r.call(command, ...args));
}

/** `INFO <section>` of a node as a field map. */
export async function nodeInfo(port: number, section: string): Promise<Map<string, string>> {
  return parseInfo((await nodeCommand(port, 'INFO', section)) as string);
}

/** Parses `INFO` or `CLUSTER INFO` text (`field:value` lines) into a map. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/** One line of `CLUSTER NODES`. */
export interface ClusterNodeLine {
  id: string;
  port: number;
  flags: Set<string>;
  masterId: string | undefined;
  connected: boolean;
  slots: [number, number][];
}

/** Parses `CLUSTER NODES` (`id ip:port@bus[,host] flags master ping pong epoch link slot...`). */
export function parseClusterNodes(text: string): ClusterNodeLine[] {
  const out: ClusterNodeLine[] = [];
  for (const line of text.trim().split('\n')) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const port = Number(/:(\d+)@/.exec(f[1] ?? '')?.[1]);
    const slots: [number, number][] = [];
    for (const s of f.slice(8)) {
      if (s.startsWith('[')) continue; // a slot being migrated or imported: not owned yet
      const [a, b] = s.split('-').map(Number);
      if (a !== undefined) slots.push([a, b ?? a]);
    }
    out.push({
      id: f[0]!,
      port,
      flags: new Set((f[2] ?? '').split(',')),
      masterId: f[3] === '-' ? undefined : f[3],
      connected: f[7] === 'connected',
      slots,
    });
  }
  return out;
}

/**
 * Polls `check` every `everyMs` until it returns a value (not `undefined`),
 * or throws after `ms` with what the last attempt said was missing.
 */
export async function waitUntil<T>(what: string, ms: number, check: () => Promise<T | string>, everyMs = 50): Promise<T> {
  const until = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      const r = await check();
      if (typeof r !== 'string') return r;
      last = r;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > until) throw new Error(`${what}: not reached within ${ms} ms (last check: ${last})`);
    await sleep(everyMs);
  }
}

export function mastersFrom(lines: ClusterNodeLine[]): MasterInfo[] {
  const masters = lines.filter((l) => l.flags.has('master') && !l.flags.has('fail') && l.slots.length > 0);
  return masters
    .map((m) => ({
      id: m.id,
      port: m.port,
      slots: [...m.slots].sort((a, b) => a[0] - b[0]),
      replicas: lines
        .filter((l) => l.masterId === m.id && (l.flags.has('slave') || l.flags.has('replica')) && !l.flags.has('fail'))
        .map((l) => l.port)
        .sort((a, b) => a - b),
    }))
    .sort((a, b) => (a.slots[0]?.[0] ?? 0) - (b.slots[0]?.[0] ?? 0));
}
