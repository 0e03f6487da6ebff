import { describe, expect, it } from 'vitest';
import { ConfigError, LocalQueue, PayloadError, Queue, QueueAdmin, WaitAborted } from '@asyncq/core';
import { checkQueueName, describeError, redactUrl, safeMessage } from '@asyncq/core/internal';

// No Redis: every check here happens before anything is sent.
describe('hostile values and bad input, before Redis', () => {
  it('describes whatever a handler throws without throwing itself', () => {
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        getPrototypeOf() {
          throw new Error('trap');
        },
      },
    );
    const badMessage = new Error('x');
    Object.defineProperty(badMessage, 'message', {
      get() {
        throw new Error('getter');
      },
    });
    const badToJson = { toJSON: () => { throw new Error('nope'); } };
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const thrown of [proxy, badMessage, badToJson, cyclic, Symbol('s'), undefined, null, 42n]) {
      const facts = describeError(thrown);
      expect(typeof facts.message).toBe('string');
      expect(typeof facts.name).toBe('string');
      expect(() => safeMessage(thrown)).not.toThrow();
    }
    expect(describeError('plain').message).toBe('plain');
    const long = describeError(new Error('m'.repeat(100_000)), 1024);
    expect(long.message.length).toBeLessThanOrEqual(256);
    expect(long.message.endsWith('... (truncated)')).toBe(true);
  });

  it('refuses Buffers and typed arrays at put, as documented, and items over the size limit', async () => {
    const q = new LocalQueue<unknown>({ maxPayloadBytes: 100 });
    await expect(q.put(Buffer.from('abc'))).rejects.toThrow('item is binary data, which JSON cannot carry; encode it as base64 or an array of numbers first');
    await expect(q.put({ a: new Uint8Array(2) })).rejects.toThrow(/^item\.a is binary data/);
    await expect(q.put('x'.repeat(200))).rejects.toThrow('item is 202 bytes of JSON, over the 100 bytes limit (maxPayloadBytes); keep large data elsewhere and pass a reference');
    await expect(q.put({ get boom() { throw new Error('getter'); } })).rejects.toThrow(PayloadError);
    const trap = (): never => {
      throw new Error('trap!');
    };
    const hostile = new Proxy({}, { get: (_t, k) => (k === 'then' ? undefined : trap()), getPrototypeOf: trap, ownKeys: trap });
    await expect(q.put({ x: hostile })).rejects.toThrow(/^item\.x threw while being read \(trap!\)/);
    expect(await q.counts()).toMatchObject({ waiting: 0, unfinished: 0 });
    await q.close();
  });

  it('a result over the limit leaves the task held, so the caller can fail it instead', async () => {
    const q = new LocalQueue<number>({ maxResultBytes: 10 });
    await q.put(1);
    const t = await q.getTask();
    await expect(t.done('x'.repeat(50))).rejects.toThrow(/result is 52 bytes of JSON, over the 10 bytes limit \(maxResultBytes\)/);
    await t.fail(new Error('result too big'));
    expect(await q.counts()).toMatchObject({ active: 0, failed: 1, unfinished: 0 });
    await q.close();
  });

  it('Infinity waits for ever, a timeout beyond a timer\'s range does not fire at once, and a bad one is refused', async () => {
    const q = new LocalQueue<number>();
    const forever = q.get({ timeout: Infinity });
    const long = q.get({ timeout: 2 ** 31 + 5000 });
    await new Promise((r) => setTimeout(r, 100));
    await q.put(1);
    await q.put(2);
    expect([await forever, await long].sort()).toEqual([1, 2]);
    await expect(q.get({ timeout: -1 })).rejects.toThrow('get timeout must be a number of ms >= 0 (or Infinity for none), got -1');
    await expect(q.get({ timeout: Number.NaN })).rejects.toBeInstanceOf(ConfigError);
    await expect(q.get({ timeout: 0 })).rejects.toBeInstanceOf(WaitAborted);
    await q.close();
  });

  it('never prints a password, whatever characters it has, and says how to write the hard ones', () => {
    expect(redactUrl('redis://user:pa/ss@host:6379/0')).toBe('redis://***@host:6379/0');
    expect(redactUrl('redis://:p@ss:w/rd@host:6379')).toBe('redis://***@host:6379');
    expect(() => new Queue('q', { connection: 'redis://:pa/ss@127.0.0.1:6379' })).toThrow(
      'the password in connection URL "redis://***@127.0.0.1:6379" contains \'/\', \'?\' or \'#\': URL-encode it (e.g. \'/\' as %2F) or pass ioredis options { host, port, password }',
    );
    expect(() => new Queue('q', { connection: 'redis://:50%off@127.0.0.1:6379' })).toThrow(
      'the password in connection URL "redis://***@127.0.0.1:6379" has a \'%\' that is not URL encoding: URL-encode it, writing a literal \'%\' as %25',
    );
    for (const url of ['redis://:pa/ss@127.0.0.1:6379', 'redis://:50%off@127.0.0.1:6379']) {
      const message = (() => {
        try {
          new Queue('q', { connection: url });
          return '';
        } catch (e) {
          return (e as Error).message;
        }
      })();
      expect(message).not.toMatch(/pa\/ss|50%off/);
    }
    // Malformed URLs: no scheme, one slash, none; the path or the scheme must not be quoted either.
    expect(redactUrl('redis:/:TOPSECRET@127.0.0.1:7301')).toBe('***@127.0.0.1:7301');
    expect(redactUrl('redis:TOPSECRET@host')).toBe('***@host');
    expect(redactUrl(':TOPSECRET@host')).toBe('***@host');
    expect(redactUrl('rediss://u:TOP@SECRET@host')).toBe('rediss://***@host');
    expect(redactUrl('redis://host:6379')).toBe('redis://host:6379');
    for (const url of ['redis:/:TOPSECRET@127.0.0.1:7301', 'redis:TOPSECRET@host', ':TOPSECRET@host', 'TOPSECRET:x@host', 'redis://:TOPSECRET@h/x']) {
      expect(() => new Queue('q', { connection: url }), url).toThrow(ConfigError);
      try {
        new Queue('q', { connection: url });
      } catch (e) {
        expect((e as Error).message.toLowerCase(), url).not.toContain('topsecret');
      }
    }
    expect(() => new Queue('q', { connection: 'redis:/:TOPSECRET@127.0.0.1:7301' })).toThrow(
      'connection URL "***@127.0.0.1:7301" is not a URL: redis://[user:password@]host[:port][/db] (rediss:// for TLS)',
    );
  });

  it('refuses queue names that could match other queues\' keys, for every tool', () => {
    for (const bad of ['*', 'a*', '?', '[a]', 'a\\b', 'a#1', 'a:b', 'a{b', 'a b', 'a\u0000b']) {
      expect(() => new Queue(bad), bad).toThrow(ConfigError);
      expect(() => new QueueAdmin(bad), bad).toThrow(ConfigError);
    }
  });

  it("refuses the queue names '.' and '..' (a browser resolves them away in a URL), and only those", () => {
    for (const bad of ['.', '..']) expect(() => checkQueueName(bad), bad).toThrow(/and not '\.' or '\.\.'/);
    for (const fine of ['.a', 'a.', '...', 'a..b', '.hidden']) expect(checkQueueName(fine)).toBe(fine);
  });
});
