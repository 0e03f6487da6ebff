import { readFileSync, statSync } from 'node:fs';
import type { Argv } from 'yargs';
import { type ConnectionOption } from '@asyncq/core';
import { redactUrl, requireNoEviction } from '@asyncq/core/internal';
import { CliError } from '../cli-error.js';

/** Where Redis is, and the key prefix: the options every command has. */
export interface ConnectionFlags {
  redisUrl?: string;
  redisCluster?: string;
  redisSentinels?: string;
  redisMaster?: string;
  redisCa?: string;
  prefix: string;
  /** Refuse a Redis whose maxmemory-policy may evict keys. */
  strictRedis?: boolean;
}

type Key = 'redisUrl' | 'redisCluster' | 'redisSentinels' | 'redisMaster' | 'redisCa';

/** Each setting: its flag and the environment variable read when the flag is not given. */
const SETTINGS: readonly { key: Key; flag: string; env: string }[] = [
  { key: 'redisUrl', flag: '--redis-url', env: 'ASYNCQ_REDIS_URL' },
  { key: 'redisCluster', flag: '--redis-cluster', env: 'ASYNCQ_REDIS_CLUSTER' },
  { key: 'redisSentinels', flag: '--redis-sentinels', env: 'ASYNCQ_REDIS_SENTINELS' },
  { key: 'redisMaster', flag: '--redis-master', env: 'ASYNCQ_REDIS_MASTER' },
  { key: 'redisCa', flag: '--redis-ca', env: 'ASYNCQ_REDIS_CA' },
];

/** The three ways to say where Redis is; at most one may be given. */
const FORMS: readonly Key[] = ['redisUrl', 'redisCluster', 'redisSentinels'];

/** The environment variables the CLI reads; no other `ASYNCQ_*` variable changes what it does. */
export const ENVIRONMENT = ['ASYNCQ_REDIS_URL', 'ASYNCQ_REDIS_CLUSTER', 'ASYNCQ_REDIS_SENTINELS', 'ASYNCQ_REDIS_MASTER', 'ASYNCQ_REDIS_CA', 'ASYNCQ_REDIS_PASSWORD', 'ASYNCQ_PREFIX', 'ASYNCQ_DEBUG', 'REDIS_URL'] as const;

/** A value and where it came from (a flag or an environment variable), for messages. */
interface Setting {
  value: string;
  from: string;
}

type Settings = Partial<Record<Key, Setting>>;

/** What each argv's values were resolved from, once the middleware has filled them in. */
const resolved = new WeakMap<object, Settings>();

const given = (v: unknown): v is string => typeof v === 'string' && v !== ''; // an empty value counts as unset

/**
 * Flags first, then environment: a connection form given as a flag (`--redis-url`,
 * `--redis-cluster`, `--redis-sentinels`) wins over every form in the environment.
 */
function settingsOf(argv: Partial<ConnectionFlags>, env: NodeJS.ProcessEnv): Settings {
  const out: Settings = {};
  for (const s of SETTINGS) if (given(argv[s.key])) out[s.key] = { value: argv[s.key] as string, from: s.flag };
  const flagged = FORMS.some((k) => out[k]);
  for (const s of SETTINGS) {
    if (out[s.key] || (flagged && FORMS.includes(s.key))) continue;
    const v = env[s.env];
    if (given(v)) out[s.key] = { value: v, from: s.env };
  }
  return out;
}

/** Adds the connection options (and the prefix) to every command, grouped in `--help`. */
export function connectionOptions<T>(y: Argv<T>): Argv<T & ConnectionFlags> {
  return y
    .option('redis-url', { type: 'string', describe: 'redis:// or rediss:// URL' })
    .option('redis-cluster', { type: 'string', describe: 'cluster nodes host:port,...' })
    .option('redis-sentinels', { type: 'string', describe: 'sentinels host:port,...' })
    .option('redis-master', { type: 'string', describe: 'the master the sentinels watch' })
    .option('redis-ca', { type: 'string', describe: 'CA certificate (PEM) for TLS' })
    .option('prefix', { type: 'string', describe: 'Redis key prefix', defaultDescription: '"asyncq"' })
    .option('strict-redis', { type: 'boolean', describe: 'refuse a Redis whose maxmemory-policy may evict keys, instead of warning' })
    .group(['redis-url', 'redis-cluster', 'redis-sentinels', 'redis-master', 'redis-ca', 'prefix', 'strict-redis'], 'Connection (else ASYNCQ_REDIS_*, else REDIS_URL):')
    .middleware((argv) => {
      fillFromEnvironment(argv as Partial<ConnectionFlags>, process.env);
      if ((argv as { strictRedis?: boolean }).strictRedis) requireNoEviction();
    }) as unknown as Argv<T & ConnectionFlags>;
}

/** Fills argv from the environment where no flag was given, remembering where each value came from. */
export function fillFromEnvironment(argv: Partial<ConnectionFlags>, env: NodeJS.ProcessEnv): void {
  const settings = settingsOf(argv, env);
  resolved.set(argv, settings);
  for (const s of SETTINGS) {
    const setting = settings[s.key];
    if (setting) argv[s.key] = setting.value;
    else delete argv[s.key];
  }
  argv.prefix = given(argv.prefix) ? argv.prefix : given(env.ASYNCQ_PREFIX) ? env.ASYNCQ_PREFIX : 'asyncq';
}

/**
 * The core `connection` option the flags and environment describe: a URL (with a password from
 * `ASYNCQ_REDIS_PASSWORD` and a CA when given), a Redis Cluster, or a Sentinel group. Each wrong
 * form is a {@link CliError} naming the flag (or variable) and the value.
 */
export function connectionOf(argv: Partial<ConnectionFlags>, env: NodeJS.ProcessEnv = process.env): ConnectionOption {
  const s = resolved.get(argv) ?? settingsOf(argv, env);
  const forms = FORMS.map((k) => s[k]).filter((x): x is Setting => x !== undefined);
  if (forms.length > 1) {
    throw new CliError(`${forms.map((f) => f.from).join(' and ')} both say where Redis is: give one (a URL, cluster nodes or sentinels)`);
  }
  if (s.redisMaster && !s.redisSentinels && s.redisMaster.from.startsWith('--')) {
    throw new CliError(`--redis-master names a master the sentinels monitor: give --redis-sentinels host:port,... too`);
  }
  const password = given(env.ASYNCQ_REDIS_PASSWORD) ? env.ASYNCQ_REDIS_PASSWORD : undefined;
  const ca = s.redisCa ? readCa(s.redisCa) : undefined;
  if (s.redisCluster) {
    const redisOptions = { ...(password ? { password } : {}), ...(ca ? { tls: { ca } } : {}) };
    return { cluster: hostList(s.redisCluster), ...(password || ca ? { clusterOptions: { redisOptions } } : {}) };
  }
  if (s.redisSentinels) {
    if (!s.redisMaster) {
      throw new CliError(`${s.redisSentinels.from} needs a master name: add --redis-master <name> (or ASYNCQ_REDIS_MASTER), the name the sentinels monitor, e.g. mymaster`);
    }
    return {
      sentinels: hostList(s.redisSentinels),
      name: s.redisMaster.value,
      ...(password ? { password } : {}),
      ...(ca ? { tls: { ca }, sentinelTLS: { ca }, enableTLSForSentinelMode: true } : {}),
    };
  }
  const url = s.redisUrl?.value ?? (given(env.REDIS_URL) ? env.REDIS_URL : 'redis://127.0.0.1:6379');
  if (ca && !/^rediss:\/\//i.test(url)) {
    throw new CliError(`${s.redisCa!.from} is for TLS connections: use a rediss:// URL, got ${redactUrl(url)}`);
  }
  const withPassword = password && !hasPassword(url);
  if (!withPassword && !ca) return url;
  return { url, ...(withPassword ? { password } : {}), ...(ca ? { tls: { ca } } : {}) };
}

/**
 * The environment that makes a child `asyncq` process (a fleet's worker) connect where this one
 * does: the chosen form set, the others blanked so the child's own environment cannot add a second.
 */
export function connectionEnvironment(argv: Partial<ConnectionFlags>, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  connectionOf(argv, env); // the same checks as here, before any child is started
  const s = resolved.get(argv) ?? settingsOf(argv, env);
  const out: Record<string, string> = { ASYNCQ_PREFIX: argv.prefix ?? (given(env.ASYNCQ_PREFIX) ? env.ASYNCQ_PREFIX : 'asyncq') };
  for (const setting of SETTINGS) out[setting.env] = s[setting.key]?.value ?? '';
  return out;
}

function hasPassword(url: string): boolean {
  const start = url.indexOf('://');
  const at = url.lastIndexOf('@');
  return start >= 0 && at > start && url.slice(start + 3, at).includes(':');
}

/**
 * `host:port,host:port` (IPv6 as `[::1]:6379`) as nodes, or one line saying which entry is wrong.
 * An entry that is a URL, or holds a `user:password@`, is refused without being quoted: the
 * password belongs in ASYNCQ_REDIS_PASSWORD, and a message must not carry it.
 */
export function hostList(setting: Setting): { host: string; port: number }[] {
  const example = `e.g. ${setting.from} 10.0.0.1:6379,10.0.0.2:6379`;
  const entries = setting.value.split(',').map((e) => e.trim());
  const url = entries.findIndex((e) => e.includes('@') || e.includes('/'));
  if (url >= 0) {
    throw new CliError(
      `${setting.from} takes host:port entries, not URLs or user:password@: entry ${url + 1} of ${entries.length} is one; give the password in ASYNCQ_REDIS_PASSWORD (${example})`,
    );
  }
  return entries.map((entry) => {
    if (entry === '') throw new CliError(`${setting.from} takes host:port,host:port with no empty entries, got ${JSON.stringify(setting.value)} (${example})`);
    const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(.*)$/.exec(entry);
    const host = m?.[1] ?? m?.[2];
    if (!m || m[3] === '') throw new CliError(`${setting.from} takes host:port entries: ${JSON.stringify(entry)} has no port (${example})`);
    if (!host) throw new CliError(`${setting.from} takes host:port entries: ${JSON.stringify(entry)} has no host (${example})`);
    const port = Number(m[3]);
    if (!/^\d+$/.test(m[3]!) || port < 1 || port > 65_535) {
      throw new CliError(`${setting.from} takes host:port entries: port ${m[3]} in ${JSON.stringify(entry)} is not a number from 1 to 65535`);
    }
    return { host, port };
  });
}

/** The CA file's PEM text, or one line saying what is wrong with the file. */
function readCa(setting: Setting): string {
  const path = setting.value;
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new CliError(`${setting.from} ${path} is a directory: give the CA certificate's PEM file`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`${setting.from} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'cannot read it')}; give the PEM file of the CA that signed the Redis server's certificate`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new CliError(`${setting.from} ${path} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`);
  }
  return text;
}

/** Where a connection goes, for messages: host:port, cluster nodes or a Sentinel group; never a password. */
export function describeConnection(c: ConnectionOption): string {
  if (typeof c === 'string') return redactUrl(c).replace(/^rediss?:\/\/(\*\*\*@)?/, '');
  const o = c as { url?: string; cluster?: { host: string; port: number }[]; sentinels?: { host: string; port: number }[]; name?: string };
  if (o.url) return describeConnection(o.url);
  if (o.cluster) return `cluster ${o.cluster.map((n) => `${n.host}:${n.port}`).join(',')}`;
  if (o.sentinels) return `sentinel group "${o.name ?? 'mymaster'}" via ${o.sentinels.map((n) => `${n.host}:${n.port}`).join(',')}`;
  return 'Redis';
}
