import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from './harness/fault-proxy.js';
import { RedisServer } from '@asyncq/test-support';

// The fault proxy's own checks, against a real redis-server and ioredis: each fault does what the
// scenarios rely on. Seconds, not minutes.
const clients: Redis[] = [];
function client(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
  r.on('error', () => {});
  clients.push(r);
  return r;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

describe('the fault proxy', () => {
  it('passes commands through, and cuts a reply after Redis ran the command: ioredis then sends it again', async () => {
    const redis = await RedisServer.start();
    const proxy = await FaultProxy.start(redis.port);
    const r = client(proxy.url());
    expect(await r.set('a', '1')).toBe('OK');
    const cut = proxy.cutReplyTo({ command: 'incr', args: (a) => a[0] === 'n' });
    const value = await r.incr('n');
    const rec = await cut.fired;
    // Redis ran INCR twice: once before the cut, once when ioredis re-sent the unanswered command.
    expect(value).toBe(2);
    expect(rec.command).toBe('INCR');
    expect(Number(await redis.client().get('n'))).toBe(2);
    expect(proxy.history.filter((c) => c.closedBy === 'reply cut')).toHaveLength(1);
  });

  it('recognizes asyncq scripts by name and can wait for the whole reply before deciding', async () => {
    const redis = await RedisServer.start();
    const proxy = await FaultProxy.start(redis.port);
    const r = client(proxy.url());
    const cut = proxy.cutReplyTo({ command: 'get', reply: (raw) => raw.includes('second') });
    await r.set('x', 'first');
    expect(await r.get('x')).toBe('first'); // reply did not match: forwarded
    await r.set('x', 'second');
    const got = r.get('x');
    const rec = await cut.fired;
    expect(rec.reply).toContain('second');
    expect(await got).toBe('second'); // re-sent after the reconnect
  });

  it('stalls one direction and resumes without losing data', async () => {
    const redis = await RedisServer.start();
    const proxy = await FaultProxy.start(redis.port);
    const r = client(proxy.url());
    await r.ping();
    proxy.stall({ ms: 600, direction: 'down' });
    const t0 = Date.now();
    await r.set('s', 'v');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    // The SET reached Redis at once: only its reply was held.
    expect(await r.get('s')).toBe('v');
  });

  it('delays, cuts and refuses connections', async () => {
    const redis = await RedisServer.start();
    const proxy = await FaultProxy.start(redis.port);
    const r = client(proxy.url());
    await r.ping();
    proxy.delay(150);
    const t0 = Date.now();
    await r.ping();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250); // both ways
    proxy.delay(0);
    proxy.refuse(true);
    expect(proxy.cut()).toBeGreaterThan(0);
    const pending = r.ping();
    await new Promise((res) => setTimeout(res, 300));
    proxy.refuse(false);
    expect(await pending).toBe('PONG');
  });
});
