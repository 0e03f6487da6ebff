import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectionEnvironment, connectionOf, describeConnection, fillFromEnvironment, type ConnectionFlags } from '../../src/grammar/connection-flags.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function caFile(text = PEM): string {
  const path = join(mkdtempSync(join(tmpdir(), 'asyncq-ca-')), 'ca.pem');
  writeFileSync(path, text);
  return path;
}

/** argv as the CLI's middleware leaves it: flags, then the environment. */
function argvOf(flags: Partial<ConnectionFlags>, env: NodeJS.ProcessEnv): Partial<ConnectionFlags> {
  const argv = { ...flags };
  fillFromEnvironment(argv, env);
  return argv;
}

describe('connectionOf (no Redis)', () => {
  it('a URL from the flag, else ASYNCQ_REDIS_URL, else REDIS_URL, else localhost', () => {
    expect(connectionOf(argvOf({ redisUrl: 'redis://a:1' }, { ASYNCQ_REDIS_URL: 'redis://b:2', REDIS_URL: 'redis://c:3' }), {})).toBe('redis://a:1');
    expect(connectionOf(argvOf({}, { ASYNCQ_REDIS_URL: 'redis://b:2', REDIS_URL: 'redis://c:3' }), {})).toBe('redis://b:2');
    expect(connectionOf(argvOf({}, { REDIS_URL: 'redis://c:3' }), { REDIS_URL: 'redis://c:3' })).toBe('redis://c:3');
    expect(connectionOf(argvOf({}, { ASYNCQ_REDIS_URL: '' }), {})).toBe('redis://127.0.0.1:6379');
  });

  it('cluster nodes and a Sentinel group, with ASYNCQ_REDIS_PASSWORD for their servers', () => {
    const env = { ASYNCQ_REDIS_PASSWORD: 's3cret' };
    expect(connectionOf(argvOf({ redisCluster: '10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002' }, env), env)).toEqual({
      cluster: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      clusterOptions: { redisOptions: { password: 's3cret' } },
    });
    expect(connectionOf(argvOf({ redisSentinels: 'h1:26379,h2:26380', redisMaster: 'mymaster' }, env), env)).toEqual({
      sentinels: [
        { host: 'h1', port: 26379 },
        { host: 'h2', port: 26380 },
      ],
      name: 'mymaster',
      password: 's3cret',
    });
    // A URL that has no password of its own takes it too; one that has keeps its own.
    expect(connectionOf(argvOf({ redisUrl: 'redis://h:1' }, env), env)).toEqual({ url: 'redis://h:1', password: 's3cret' });
    expect(connectionOf(argvOf({ redisUrl: 'redis://:own@h:1' }, env), env)).toBe('redis://:own@h:1');
  });

  it('a flag form wins over every form in the environment; ASYNCQ_REDIS_MASTER goes with ASYNCQ_REDIS_SENTINELS', () => {
    const env = { ASYNCQ_REDIS_URL: 'redis://b:2', ASYNCQ_REDIS_SENTINELS: 's:1', ASYNCQ_REDIS_MASTER: 'm' };
    expect(connectionOf(argvOf({ redisCluster: 'c:1' }, env), env)).toEqual({ cluster: [{ host: 'c', port: 1 }] });
    const sentinelEnv = { ASYNCQ_REDIS_SENTINELS: 's:1', ASYNCQ_REDIS_MASTER: 'm' };
    expect(connectionOf(argvOf({}, sentinelEnv), sentinelEnv)).toEqual({ sentinels: [{ host: 's', port: 1 }], name: 'm' });
  });

  it('a CA file for rediss://, a cluster or sentinels', () => {
    const ca = caFile();
    expect(connectionOf(argvOf({ redisUrl: 'rediss://h:6380', redisCa: ca }, {}), {})).toEqual({ url: 'rediss://h:6380', tls: { ca: PEM } });
    expect(connectionOf(argvOf({ redisCluster: 'h:1' }, { ASYNCQ_REDIS_CA: ca }), {})).toEqual({ cluster: [{ host: 'h', port: 1 }], clusterOptions: { redisOptions: { tls: { ca: PEM } } } });
    expect(connectionOf(argvOf({ redisSentinels: 'h:1', redisMaster: 'm', redisCa: ca }, {}), {})).toMatchObject({ tls: { ca: PEM }, sentinelTLS: { ca: PEM }, enableTLSForSentinelMode: true });
  });

  it('each wrong form is one line naming the flag or variable and the value', () => {
    const ca = caFile();
    const cases: [Partial<ConnectionFlags>, NodeJS.ProcessEnv, string][] = [
      [{ redisCluster: 'nonsense' }, {}, '--redis-cluster takes host:port entries: "nonsense" has no port (e.g. --redis-cluster 10.0.0.1:6379,10.0.0.2:6379)'],
      [{ redisCluster: '127.0.0.1:' }, {}, '--redis-cluster takes host:port entries: "127.0.0.1:" has no port (e.g. --redis-cluster 10.0.0.1:6379,10.0.0.2:6379)'],
      [{ redisCluster: ':6379' }, {}, '--redis-cluster takes host:port entries: ":6379" has no host (e.g. --redis-cluster 10.0.0.1:6379,10.0.0.2:6379)'],
      [{ redisCluster: '127.0.0.1:99999' }, {}, '--redis-cluster takes host:port entries: port 99999 in "127.0.0.1:99999" is not a number from 1 to 65535'],
      [{ redisCluster: 'a:1,,b:2' }, {}, '--redis-cluster takes host:port,host:port with no empty entries, got "a:1,,b:2" (e.g. --redis-cluster 10.0.0.1:6379,10.0.0.2:6379)'],
      [{}, { ASYNCQ_REDIS_CLUSTER: 'h:x' }, 'ASYNCQ_REDIS_CLUSTER takes host:port entries: port x in "h:x" is not a number from 1 to 65535'],
      // A URL or a user:password@ in an entry is refused without quoting it.
      [{ redisCluster: 'redis://:TOPSECRET@h:1' }, {}, '--redis-cluster takes host:port entries, not URLs or user:password@: entry 1 of 1 is one; give the password in ASYNCQ_REDIS_PASSWORD (e.g. --redis-cluster 10.0.0.1:6379,10.0.0.2:6379)'],
      [{}, { ASYNCQ_REDIS_SENTINELS: 'h:1,//:TOPSECRET@h:2', ASYNCQ_REDIS_MASTER: 'm' }, 'ASYNCQ_REDIS_SENTINELS takes host:port entries, not URLs or user:password@: entry 2 of 2 is one; give the password in ASYNCQ_REDIS_PASSWORD (e.g. ASYNCQ_REDIS_SENTINELS 10.0.0.1:6379,10.0.0.2:6379)'],
      [{ redisUrl: 'redis://h:1', redisCluster: 'h:1' }, {}, '--redis-url and --redis-cluster both say where Redis is: give one (a URL, cluster nodes or sentinels)'],
      [{}, { ASYNCQ_REDIS_URL: 'redis://h:1', ASYNCQ_REDIS_SENTINELS: 'h:1' }, 'ASYNCQ_REDIS_URL and ASYNCQ_REDIS_SENTINELS both say where Redis is: give one (a URL, cluster nodes or sentinels)'],
      [{ redisSentinels: 'h:1' }, {}, '--redis-sentinels needs a master name: add --redis-master <name> (or ASYNCQ_REDIS_MASTER), the name the sentinels monitor, e.g. mymaster'],
      [{ redisMaster: 'm' }, {}, '--redis-master names a master the sentinels monitor: give --redis-sentinels host:port,... too'],
      [{ redisCa: '/no/such/ca.pem', redisUrl: 'rediss://h:1' }, {}, "--redis-ca /no/such/ca.pem: no such file; give the PEM file of the CA that signed the Redis server's certificate"],
      [{ redisCa: tmpdir(), redisUrl: 'rediss://h:1' }, {}, `--redis-ca ${tmpdir()} is a directory: give the CA certificate's PEM file`],
      [{ redisCa: caFile('hello'), redisUrl: 'rediss://h:1' }, {}, 'is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line)'],
      [{ redisCa: ca, redisUrl: 'redis://:pw@h:1' }, {}, '--redis-ca is for TLS connections: use a rediss:// URL, got redis://***@h:1'],
    ];
    for (const [flags, env, message] of cases) expect(() => connectionOf(argvOf(flags, env), env), JSON.stringify(flags)).toThrow(message);
  });

  it('gives a child process the same connection, blanking the forms not chosen', () => {
    const env = { ASYNCQ_REDIS_URL: 'redis://b:2' };
    expect(connectionEnvironment(argvOf({ redisCluster: 'c:1', prefix: 'p' }, env), env)).toEqual({
      ASYNCQ_PREFIX: 'p',
      ASYNCQ_REDIS_URL: '',
      ASYNCQ_REDIS_CLUSTER: 'c:1',
      ASYNCQ_REDIS_SENTINELS: '',
      ASYNCQ_REDIS_MASTER: '',
      ASYNCQ_REDIS_CA: '',
    });
  });

  it('describes a connection without its password', () => {
    expect(describeConnection('redis://:p@ss@h:1/0')).toBe('h:1/0');
    expect(describeConnection({ cluster: [{ host: 'a', port: 1 }] })).toBe('cluster a:1');
    expect(describeConnection({ sentinels: [{ host: 's', port: 2 }], name: 'm' })).toBe('sentinel group "m" via s:2');
  });
});
