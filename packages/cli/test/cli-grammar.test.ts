// One command-line grammar (issue 13), connection flags (issue 12) and the CLI items of issue 10,
// as the user meets them: a real `asyncq` subprocess, its exact line on stderr and its exit code.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adminClient, freePort, HANDLERS, hasOpenssl, makeCertificates, RedisServer, redisUrl, uniqueName } from '@asyncq/test-support';
import { runCli } from './cli-process.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The one line on stderr (no stack trace). */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  return lines[0]!;
}

/** Runs each case and checks its exact line and exit code 1. */
async function expectMistakes(cases: [string[], string][], env: Record<string, string> = {}): Promise<void> {
  for (const [args, line] of cases) {
    const r = await runCli(args, { env });
    expect(r.code, args.join(' ')).toBe(1);
    expect(oneLine(r.stderr), args.join(' ')).toBe(line);
  }
}

describe('one command-line grammar', () => {
  it('--version prints the version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  it('every usage mistake is one line naming the wrong value and what is allowed, exit 1', async () => {
    await expectMistakes([
      [[], 'asyncq: name a command; asyncq --help lists them'],
      [['wrkr'], 'asyncq: unknown command "wrkr" (did you mean asyncq worker?)'],
      [['xyzzy'], 'asyncq: unknown command "xyzzy" (asyncq --help lists the commands)'],
      [['stats', '--bogus'], 'asyncq: unknown option --bogus (the usage is asyncq stats [queues..]; asyncq stats --help lists the options)'],
      [['join', 'q', 'extra'], 'asyncq: unexpected argument "extra" (the usage is asyncq join <queue>; asyncq join --help lists the options)'],
      [['put'], 'asyncq: missing argument: the usage is asyncq put <queue> [json] (asyncq put --help explains each)'],
      [['worker', HANDLERS], 'asyncq: Missing required argument: queue (asyncq worker --help shows the usage)'],
      [['inspect', 'q', '--state', 'bogus'], 'asyncq: --state must be one of waiting, delayed, active, completed, failed, cancelled, blocked; got "bogus"'],
      [['inspect', 'q', '-s', 'runnin'], 'asyncq: --state must be one of waiting, delayed, active, completed, failed, cancelled, blocked; got "runnin"'],
      [['inspect', 'q', '--limit', '0'], 'asyncq: --limit must be a whole number from 1 to 100000, got "0"'],
      [['worker', HANDLERS, '-q', 'q', '-c', 'abc'], 'asyncq: --concurrency must be a whole number from 1 to 10000, got "abc"'],
      [['worker', HANDLERS, '-q', 'q', '-c', '1e9'], 'asyncq: --concurrency must be a whole number from 1 to 10000, got "1e9"'],
      [['worker', HANDLERS, '-q', 'q', '-c'], 'asyncq: -c needs a value (asyncq worker --help shows the usage)'],
      [['worker', HANDLERS, '-q', 'q', '--log-format', 'xml'], 'asyncq: --log-format must be one of json, pretty; got "xml"'],
      [['worker', HANDLERS, '-q', 'q', '--log-level', 'loud'], 'asyncq: --log-level must be one of trace, debug, info, warn, error, fatal, silent; got "loud"'],
      [['worker', HANDLERS, '-q', 'q', '--lease', '5000'], 'asyncq: --lease needs a unit: write 5000ms or 5s (or 5000s for seconds), got "5000"'],
      [['worker', HANDLERS, '-q', 'q', '--stalled-interval', '10ms'], 'asyncq: --stalled-interval must be between 50 ms and 1 hour, got "10ms"'],
      [['worker', HANDLERS, '-q', 'q', '-t', 'soon'], 'asyncq: --timeout must be a duration such as 500ms, 30s, 5m or 1h, got "soon"'],
      [['join', 'q', '--timeout', 'soon'], 'asyncq: --timeout must be a duration such as 500ms, 30s, 5m or 1h (or none), got "soon"'],
      [['join', '-q'], 'asyncq: -q needs a queue name, e.g. asyncq join -q emails'],
      [['join', '-q', 'a', '-q', 'b'], 'asyncq: asyncq join takes one queue; -q/--queue was given 2 times (a, b)'],
      [['put', 'q', '1', '--delay', 'later'], 'asyncq: --delay must be a duration such as 500ms, 30s, 5m or 1h, got "later"'],
      [['put', 'q', '1', '--priority', '-1'], 'asyncq: --priority must be a whole number from 0 to 2097150, got "-1"'],
      [['put', 'q', '1', '--attempts', 'many'], 'asyncq: --attempts must be a whole number from 1 to 1000000, got "many"'],
      [['scale', 'q', '-3'], 'asyncq: the worker count must be a whole number from 0 to 10000, got "-3"'],
      [['retry', 'q'], 'asyncq: say which tasks to retry: asyncq retry <queue> <id>, or asyncq retry <queue> --failed for every failed one'],
      [['purge', 'q'], 'asyncq: asyncq purge asks for confirmation and stdin is not a terminal: pass --yes to purge without asking'],
      [['delete', 'q'], 'asyncq: asyncq delete asks for confirmation and stdin is not a terminal: pass --yes to delete without asking'],
      [['clean', 'q', '--older-than', '1d'], 'asyncq: asyncq clean asks for confirmation and stdin is not a terminal: pass --yes to clean without asking'],
      [['clean', 'q', '--older-than', '7', '-y'], 'asyncq: --older-than needs a unit: write 7ms (or 7s for seconds), got "7"'],
      [['clean', 'q', '--older-than', '1d', '-s', 'active', '-y'], 'asyncq: --state must be one of completed, failed, delayed, waiting; got "active"'],
      [['purge', 'q', '-s', 'waiting,running', '-y'], 'asyncq: --state takes a comma-separated list of waiting, delayed, failed, completed; "running" is not one of them'],
      [['stats', 'a*'], 'asyncq: invalid queue name "a*": use 1-200 characters without \':\', \'{\', \'}\', \'#\', glob characters (* ? [ ] \\), whitespace or control characters, and not \'.\' or \'..\', e.g. "thumbnails"'],
      [['stats', '..'], 'asyncq: invalid queue name "..": use 1-200 characters without \':\', \'{\', \'}\', \'#\', glob characters (* ? [ ] \\), whitespace or control characters, and not \'.\' or \'..\', e.g. "thumbnails"'],
    ]);
  }, 120_000);

  it('each wrong connection form is one line naming the flag or variable, exit 1, without a hang', async () => {
    await expectMistakes([
      [['stats', '--redis-cluster', 'nonsense'], 'asyncq: --redis-cluster takes host:port entries: "nonsense" has no port (e.g. --redis-cluster 10.0.0.1:6379,10.0.0.2:6379)'],
      [['stats', '--redis-cluster', '127.0.0.1:99999'], 'asyncq: --redis-cluster takes host:port entries: port 99999 in "127.0.0.1:99999" is not a number from 1 to 65535'],
      [['stats', '--redis-cluster', 'a:1,,b:2'], 'asyncq: --redis-cluster takes host:port,host:port with no empty entries, got "a:1,,b:2" (e.g. --redis-cluster 10.0.0.1:6379,10.0.0.2:6379)'],
      [['stats', '--redis-url', 'redis://127.0.0.1:1', '--redis-cluster', '127.0.0.1:2'], 'asyncq: --redis-url and --redis-cluster both say where Redis is: give one (a URL, cluster nodes or sentinels)'],
      [['stats', '--redis-sentinels', '127.0.0.1:26379'], 'asyncq: --redis-sentinels needs a master name: add --redis-master <name> (or ASYNCQ_REDIS_MASTER), the name the sentinels monitor, e.g. mymaster'],
      [['stats', '--redis-master', 'mymaster'], 'asyncq: --redis-master names a master the sentinels monitor: give --redis-sentinels host:port,... too'],
      [['stats', '--redis-url', 'rediss://127.0.0.1:1', '--redis-ca', '/no/such/ca.pem'], "asyncq: --redis-ca /no/such/ca.pem: no such file; give the PEM file of the CA that signed the Redis server's certificate"],
    ]);
    await expectMistakes([[['stats'], 'asyncq: ASYNCQ_REDIS_URL and ASYNCQ_REDIS_CLUSTER both say where Redis is: give one (a URL, cluster nodes or sentinels)']], {
      ASYNCQ_REDIS_URL: 'redis://127.0.0.1:1',
      ASYNCQ_REDIS_CLUSTER: '127.0.0.1:2',
    });
  }, 60_000);

  it('-q/--queue names the queue in every command that takes one', async () => {
    const name = uniqueName('qflag');
    try {
      expect((await runCli(['put', '-q', name, '{"a":1}'])).code).toBe(0);
      expect((await runCli(['put', `--queue=${name}`, '2', '--delay', '1h'])).code).toBe(0);
      const stats = JSON.parse((await runCli(['stats', '-q', name, '--json'])).stdout) as { queue: string; waiting: number; delayed: number }[];
      expect(stats).toEqual([expect.objectContaining({ queue: name, waiting: 1, delayed: 1 })]);
      expect((await runCli(['inspect', '--queue', name])).stdout).toContain(`${name}: 1 waiting, 1 delayed`);
      expect((await runCli(['pause', '-q', name])).stdout).toContain(`${name}: paused`);
      expect((await runCli(['resume', '-q', name])).stdout).toBe(`${name}: resumed\n`);
      expect((await runCli(['promote', '-q', name, '2'])).stdout).toBe(`${name}: task 2 is ready now\n`);
      expect((await runCli(['logs', '-q', name, '1'])).stdout).toContain(`${name} task 1 (task): waiting`);
      expect((await runCli(['scale', '-q', name, '0'])).stdout).toContain(`${name}: desired workers set to 0`);
      const join = await runCli(['join', '-q', name, '-t', '500ms']);
      expect(join.code).toBe(2);
      expect(join.stdout).toContain(`${name}: 2 tasks still unfinished after 500ms`);
      expect((await runCli(['purge', '-q', name, '-y'])).stdout).toBe(`${name}: removed 2 tasks (waiting, delayed, failed)\n`);
      expect((await runCli(['delete', '-q', name, '--yes'])).stdout).toMatch(new RegExp(`^${name}: deleted \\(\\d+ keys removed\\)`));
    } finally {
      await runCli(['delete', name, '--yes', '--force']);
    }
  }, 60_000);

  it('reads the ASYNCQ_* variables it knows and no others: ASYNCQ_DEBUG or a stray one never breaks a command', async () => {
    const prefix = uniqueName('pfx');
    const name = uniqueName('env');
    try {
      const stray = { ASYNCQ_DEBUG: '1', ASYNCQ_TEST_SLEEP_MS: '5', ASYNCQ_CONCURRENCY: 'lots', ASYNCQ_NO_SUCH_THING: 'x' };
      expect((await runCli(['put', name, '1'], { env: { ...stray, ASYNCQ_PREFIX: prefix } })).code).toBe(0);
      const listed = await runCli(['stats', '--json'], { env: { ...stray, ASYNCQ_PREFIX: prefix } });
      expect(listed.stderr).toBe('');
      expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ queue: name, waiting: 1 })]);
      // Any flag of the command can come from ASYNCQ_<FLAG> (here --json), and the command line wins.
      const fromEnv = await runCli(['stats'], { env: { ...stray, ASYNCQ_PREFIX: prefix, ASYNCQ_JSON: 'true' } });
      expect(JSON.parse(fromEnv.stdout)).toEqual([expect.objectContaining({ queue: name, waiting: 1 })]);
      const flagWins = await runCli(['stats', '--no-json'], { env: { ASYNCQ_PREFIX: prefix, ASYNCQ_JSON: 'true' } });
      expect(flagWins.stdout).toMatch(/^queue\s+waiting/);
      // The flag beats the variable; ASYNCQ_REDIS_URL beats REDIS_URL; --redis-url beats both.
      expect(JSON.parse((await runCli(['stats', '--json', '--prefix', prefix], { env: { ASYNCQ_PREFIX: 'other' } })).stdout)).toHaveLength(1);
      const dead = `redis://127.0.0.1:${await freePort()}`;
      expect((await runCli(['stats', name, '--prefix', prefix], { env: { REDIS_URL: dead, ASYNCQ_REDIS_URL: redisUrl() } })).code).toBe(0);
      expect((await runCli(['stats', name, '--prefix', prefix, '--redis-url', redisUrl()], { env: { ASYNCQ_REDIS_URL: dead } })).code).toBe(0);
    } finally {
      const keys = await adminClient().keys(`${prefix}:*`);
      if (keys.length > 0) await adminClient().del(...keys);
    }
  }, 60_000);

  it('a port in use is one line naming the port and the flag that picks another', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const worker = await runCli(['worker', HANDLERS, '-q', uniqueName('port'), '--metrics-port', String(port)]);
      expect(worker.code).toBe(1);
      expect(oneLine(worker.stderr)).toBe(`asyncq: port ${port} on 127.0.0.1 is in use: choose another with --metrics-port`);
      const metrics = await runCli(['metrics', '--port', String(port), '--queue', 'none-here']);
      expect(metrics.code).toBe(1);
      expect(oneLine(metrics.stderr)).toBe(`asyncq: port ${port} on 127.0.0.1 is in use: choose another with --port`);
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });

  it('passwords never show, whatever their characters; a refused password is Redis’ own line', async () => {
    const dead = await freePort();
    const cases: [string, string][] = [
      [`redis://:p@ss/w?rd#x@127.0.0.1:${dead}`, `asyncq: the password in connection URL "redis://***@127.0.0.1:${dead}" contains '/', '?' or '#': URL-encode it (e.g. '/' as %2F) or pass ioredis options { host, port, password }`],
      [`redis://:50%off!@127.0.0.1:${dead}`, `asyncq: the password in connection URL "redis://***@127.0.0.1:${dead}" has a '%' that is not URL encoding: URL-encode it, writing a literal '%' as %25`],
      [`redis://:p%40ss%20w0rd@127.0.0.1:${dead}`, `asyncq: cannot reach Redis at 127.0.0.1:${dead} (ECONNREFUSED); start Redis there or point REDIS_URL / the connection option at a running one`],
    ];
    for (const [url, line] of cases) {
      const r = await runCli(['stats', '--redis-url', url]);
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toBe(line);
    }
    const port = await freePort();
    await RedisServer.start({ port, args: ['--requirepass', 'right-one'] });
    const wrong = await runCli(['stats'], { env: { REDIS_URL: `redis://127.0.0.1:${port}`, ASYNCQ_REDIS_PASSWORD: 'wrong-one' } });
    expect(wrong.code).toBe(1);
    expect(oneLine(wrong.stderr)).toMatch(new RegExp(`^asyncq: Redis at 127\\.0\\.0\\.1:${port} refused the password \\(WRONGPASS\\): check the user and password`));
    expect(wrong.stderr).not.toContain('wrong-one');
    expect(wrong.stderr).not.toContain('start Redis there');
    const right = await runCli(['stats', '--json'], { env: { REDIS_URL: `redis://127.0.0.1:${port}`, ASYNCQ_REDIS_PASSWORD: 'right-one' } });
    expect(right.stderr).toBe('');
    expect(right.stdout.trim()).toBe('[]');
  });

  it.skipIf(!hasOpenssl())('--redis-ca and ASYNCQ_REDIS_CA connect to a TLS Redis whose certificate that CA signed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'asyncq-cli-tls-'));
    const certs = makeCertificates(dir); // the server needs its certificate at start
    const tlsPort = await freePort();
    await RedisServer.start({ port: tlsPort, dir, args: ['--port', '0', '--tls-port', String(tlsPort), '--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'no'] });
    const url = `rediss://127.0.0.1:${tlsPort}`;
    const withFlag = await runCli(['stats', '--json', '--redis-url', url, '--redis-ca', certs.ca]);
    expect(withFlag.stderr).toBe('');
    expect(withFlag.stdout.trim()).toBe('[]');
    const withEnv = await runCli(['stats', '--json'], { env: { ASYNCQ_REDIS_URL: url, ASYNCQ_REDIS_CA: certs.ca } });
    expect(withEnv.stderr).toBe('');
    const without = await runCli(['stats', '--redis-url', url]);
    expect(without.code).toBe(1);
    expect(oneLine(without.stderr)).toBe(
      `asyncq: cannot trust the TLS certificate of Redis at 127.0.0.1:${tlsPort} (SELF_SIGNED_CERT_IN_CHAIN): give its CA with the connection { url, tls: { ca } } (asyncq --redis-ca <file>)`,
    );
    const plain = await runCli(['stats', '--redis-url', `redis://127.0.0.1:${tlsPort}`, '--redis-ca', certs.ca]);
    expect(oneLine(plain.stderr)).toBe(`asyncq: --redis-ca is for TLS connections: use a rediss:// URL, got redis://127.0.0.1:${tlsPort}`);
  });
});
