import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, RedisUnreachable } from '@asyncq/core';
import { adminClient, redisUrl, track, uniqueName } from '@asyncq/test-support';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A loopback port whose server accepts connections and never answers ('silent'), or nothing listening ('closed'). */
async function loopbackPort(kind: 'silent' | 'closed'): Promise<number> {
  const sockets: Socket[] = [];
  const srv: Server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  const close = (): Promise<void> => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => srv.close(() => r()));
  };
  if (kind === 'closed') await close();
  else cleanups.push(close);
  return port;
}

describe('connecting', () => {
  it('fails fast on a refused port, naming host and port but never the password', async () => {
    const port = await loopbackPort('closed');
    const q = track(new Queue('x', { connection: `redis://:hunter2@127.0.0.1:${port}` }));
    const t0 = Date.now();
    const err = await q.put(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnreachable);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect((err as Error).message).not.toContain('hunter2');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('gives up within the connect timeout on a server that never answers', async () => {
    const port = await loopbackPort('silent');
    const q = track(new Queue('x', { connection: { host: '127.0.0.1', port }, connectTimeout: 1000 }));
    const t0 = Date.now();
    await expect(q.get()).rejects.toThrow(`cannot reach Redis at 127.0.0.1:${port} (no answer within 1000 ms)`);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('connect() connects up front: it rejects on an unreachable Redis, and on a reachable one writes nothing', async () => {
    const port = await loopbackPort('closed');
    await expect(track(new Queue('x', { connection: `redis://127.0.0.1:${port}` })).connect()).rejects.toBeInstanceOf(RedisUnreachable);
    const name = uniqueName('connect');
    const q = track(new Queue(name, { connection: redisUrl() }));
    await q.connect();
    expect(await adminClient().keys(`asyncq:{${name}}*`)).toEqual([]);
    expect(await q.qsize()).toBe(0);
  });

  it('refuses a malformed URL at construction', () => {
    expect(() => new Queue('x', { connection: 'http://127.0.0.1:6379' })).toThrow(/must start with redis:\/\/ or rediss:\/\//);
    expect(() => new Queue('x', { connection: 'not a url' })).toThrow(/is not a URL/);
  });

  it('shares an ioredis client it is given and leaves it open on close', async () => {
    const name = uniqueName('shared');
    const client = new Redis(redisUrl());
    try {
      const producer = track(new Queue<number>(name, { connection: client }), name);
      const consumer = track(new Queue<number>(name, { connection: client }), name);
      await producer.put(42);
      expect(await consumer.get()).toBe(42);
      await consumer.taskDone();
      await producer.join();
      await Promise.all([producer.close(), consumer.close()]);
      expect(await client.ping()).toBe('PONG');
    } finally {
      await client.quit();
    }
  });

  it('keeps every key of a queue in one hash slot, with the queue name as the hash tag', async () => {
    const name = uniqueName('slot');
    const q = track(new Queue<number>(name, { connection: redisUrl(), maxsize: 10 }), name);
    await q.put(1);
    await q.put(2, { delay: 60_000 });
    await q.put(3, { priority: 1 });
    await q.getTask();
    await q.taskDone();
    await q.shutdown();
    const keys = await adminClient().keys(`*${name}*`);
    expect(keys.length).toBeGreaterThan(5);
    for (const k of keys) expect(k).toMatch(new RegExp(`^asyncq:\\{${name}\\}:`));
  });
});
