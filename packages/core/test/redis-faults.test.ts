import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, QueueAdmin, QueueDataLost, RedisRefused, WorkerRegistry } from '@asyncq/core';
import { startEmbeddedRedis, type EmbeddedRedis } from '@asyncq/core/testing';
import { sleep } from '@asyncq/test-support';

// Each test runs its own redis-server: it stops, pauses, restarts or locks it down.
const servers: EmbeddedRedis[] = [];
const handles: { close(): Promise<void> }[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.close().catch(() => {})));
  for (const s of servers.splice(0)) {
    try {
      process.kill(s.pid, 'SIGCONT');
    } catch {
      // already gone
    }
    await s.stop();
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function server(args: string[] = [], port?: number, dir?: string): Promise<EmbeddedRedis> {
  const s = await startEmbeddedRedis({ args, ...(port ? { port } : {}), ...(dir ? { dir } : {}) });
  servers.push(s);
  return s;
}

function keep<H extends { close(): Promise<void> }>(h: H): H {
  handles.push(h);
  return h;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'asyncq-faults-'));
  dirs.push(d);
  return d;
}

describe('Redis faults', () => {
  it('rides out a Redis that stops answering for two seconds: a put waits, a get and a join keep waiting', async () => {
    const r = await server();
    const q = keep(new Queue<number>('blip', { connection: r.url }));
    const consumer = keep(new Queue<number>('blip', { connection: r.url }));
    await q.put(1);
    const joined = q.join({ timeout: 30_000 });
    expect(await consumer.get()).toBe(1);
    const got = consumer.get({ timeout: 30_000 });
    process.kill(r.pid, 'SIGSTOP');
    const put = q.put(2);
    await sleep(2000);
    process.kill(r.pid, 'SIGCONT');
    await put;
    expect(await got).toBe(2);
    await consumer.taskDone();
    await consumer.taskDone();
    await joined;
  });

  it('after a SIGKILL and a restart with AOF, acknowledged puts are there and a put made during the outage goes in', async () => {
    const dir = tempDir();
    const aof = ['--appendonly', 'yes', '--appendfsync', 'always'];
    const r1 = await server(aof, undefined, dir);
    const q = keep(new Queue<number>('aof', { connection: r1.url }));
    for (let i = 0; i < 50; i++) await q.put(i);
    process.kill(r1.pid, 'SIGKILL');
    await sleep(200);
    const during = q.put(50);
    await sleep(1000);
    await server(aof, r1.port, dir);
    await during;
    expect((await q.counts()).waiting).toBe(51);
  });

  it('tells a joiner that the queue\'s data vanished (an empty restart), instead of resolving', async () => {
    const r = await server();
    const q = keep(new Queue<number>('lost', { connection: r.url, stalledInterval: 200 }));
    await q.put(1);
    await q.put(2);
    const joined = q.join({ timeout: 10_000 }).catch((e: unknown) => e);
    await sleep(300);
    const raw = new Redis(r.url);
    await raw.flushall();
    raw.disconnect();
    const err = await joined;
    expect(err).toBeInstanceOf(QueueDataLost);
    expect((err as Error).message).toBe(
      'queue "lost" lost its data in Redis in partition 0 (restarted without persistence, evicted, or deleted) while 2 tasks were unfinished; they may not have run: put them again if they must',
    );
  });

  it('tells a joiner about the loss even when the handle that made the first put puts again before the joiner looks', async () => {
    const r = await server();
    const producer = keep(new Queue<number>('lost-again', { connection: r.url }));
    const joiner = keep(new Queue<number>('lost-again', { connection: r.url, stalledInterval: 60_000 }));
    await producer.put(1);
    const joined = joiner.join({ timeout: 10_000 }).catch((e: unknown) => e);
    await sleep(300); // the joiner has counted once, and waits for "drained" (its re-check is a minute away)
    const raw = new Redis(r.url);
    await raw.flushall();
    raw.disconnect();
    // The data is gone; the first handle puts again, and that task is done: a joiner that only
    // compared epochs would see one unfinished task, then none, and resolve.
    await producer.put(2);
    expect(await producer.get()).toBe(2);
    await producer.taskDone();
    const err = await joined;
    expect(err).toBeInstanceOf(QueueDataLost);
  });

  it('says Redis refused the password, or has no such database, instead of "cannot reach"', async () => {
    const r = await server(['--requirepass', 's3cret']);
    const wrong = keep(new Queue('auth', { connection: `redis://:nope@127.0.0.1:${r.port}` }));
    const err = await wrong.put(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisRefused);
    expect((err as Error).message).toMatch(new RegExp(`^Redis at 127\\.0\\.0\\.1:${r.port} refused the password \\(WRONGPASS\\): check the user and password`));
    expect((err as Error).message).not.toContain('nope');
    const noDb = keep(new Queue('auth', { connection: `redis://:s3cret@127.0.0.1:${r.port}/99` }));
    await expect(noDb.put(1)).rejects.toThrow(new RegExp(`^Redis at 127\\.0\\.0\\.1:${r.port} has no such database`));
    const right = keep(new Queue<number>('auth', { connection: `redis://:s3cret@127.0.0.1:${r.port}/1` }));
    await right.put(7);
    expect(await right.get()).toBe(7);
  });

  it('works as an ACL user with the permissions the README lists, and says which are missing otherwise', async () => {
    const r = await server();
    const admin = new Redis(r.url);
    // Keep this line in step with the README's "Redis permissions".
    await admin.call('ACL', 'SETUSER', 'asyncq', 'on', '>pw', '~asyncq:*', '&*', '+@read', '+@write', '+@scripting', '+@pubsub', '+@connection', '+@keyspace', '-@dangerous', '+info', '+time');
    await admin.call('ACL', 'SETUSER', 'noscripts', 'on', '>pw', '~asyncq:*', '&*', '+@read', '+@write', '+@pubsub', '+@connection', '+@keyspace', '-@dangerous', '+info');
    admin.disconnect();
    const url = `redis://asyncq:pw@127.0.0.1:${r.port}`;
    const q = keep(new Queue<number>('acl', { connection: url }));
    const consumer = keep(new Queue<number>('acl', { connection: url }));
    await q.put(1);
    expect(await consumer.get()).toBe(1);
    await consumer.taskDone();
    await q.join({ timeout: 5000 });
    const reads = keep(new QueueAdmin('acl', { connection: url }));
    expect(await reads.counts()).toMatchObject({ completed: 1, unfinished: 0 });
    expect(await reads.tasks('completed')).toHaveLength(1);
    const registry = keep(new WorkerRegistry('acl', { connection: url }));
    expect(await registry.list()).toEqual([]);
    const denied = keep(new Queue('acl', { connection: `redis://noscripts:pw@127.0.0.1:${r.port}` }));
    await expect(denied.put(1)).rejects.toThrow(/^Redis at 127\.0\.0\.1:\d+ does not let this user run EVAL(SHA)? \(NOPERM\): grant the user the ACL in asyncq's README/);
  });

  it('connects over TLS with a CA given by option, and says so when the certificate cannot be trusted', async () => {
    const dir = tempDir();
    const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=asyncq-test-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
    execFileSync('sh', ['-c', 'printf "subjectAltName=IP:127.0.0.1\\n" > san.ext'], { cwd: dir });
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.crt');
    const plain = await server();
    const tlsPort = plain.port + 1;
    await plain.stop();
    servers.pop();
    await server(
      ['--port', '0', '--tls-port', String(tlsPort), '--tls-cert-file', join(dir, 'server.crt'), '--tls-key-file', join(dir, 'server.key'), '--tls-ca-cert-file', join(dir, 'ca.crt'), '--tls-auth-clients', 'no'],
      tlsPort,
    );
    const ca = readFileSync(join(dir, 'ca.crt'));
    const q = keep(new Queue<number>('tls', { connection: { url: `rediss://127.0.0.1:${tlsPort}`, tls: { ca } } }));
    await q.put(42);
    expect(await q.get()).toBe(42);
    await q.taskDone();
    const untrusted = keep(new Queue('tls', { connection: `rediss://127.0.0.1:${tlsPort}`, connectTimeout: 2000 }));
    const err = await untrusted.put(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisRefused);
    expect((err as Error).message).toBe(
      `cannot trust the TLS certificate of Redis at 127.0.0.1:${tlsPort} (SELF_SIGNED_CERT_IN_CHAIN): give its CA with the connection { url, tls: { ca } } (asyncq --redis-ca <file>)`,
    );
  });
});
