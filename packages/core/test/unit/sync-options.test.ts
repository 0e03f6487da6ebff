// Bad input to the coordination primitives: one ConfigError line each, before any connection.
import { describe, expect, it } from 'vitest';
import { Barrier, BoundedSemaphore, Condition, ConfigError, Event, Lock, LockNotHeld, Semaphore } from '@asyncq/core';

// Nothing listens here: a test that connected would fail with RedisUnreachable instead.
const connection = 'redis://127.0.0.1:1';

function oneLine(fn: () => unknown): string {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const message = (error as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

describe('primitives: bad input', () => {
  it('a name that breaks the queue-name rules', () => {
    expect(oneLine(() => new Lock('a:b', { connection }))).toMatch(/^invalid lock name "a:b": use 1-200 characters without ':'/);
    expect(oneLine(() => new Semaphore('', { connection }))).toMatch(/^invalid Semaphore name "":/);
    expect(oneLine(() => new Event('x{y}', { connection }))).toMatch(/^invalid event name/);
    expect(oneLine(() => new Barrier('a b', { connection, parties: 2 }))).toMatch(/^invalid barrier name/);
    expect(oneLine(() => new Condition('*', { connection }))).toMatch(/^invalid condition name/);
    expect(oneLine(() => new Lock(42 as never, { connection }))).toMatch(/^invalid lock name 42/);
  });

  it('a non-integer or negative value', () => {
    expect(oneLine(() => new Semaphore('s', { connection, value: -1 }))).toBe('Semaphore value must be a whole number from 0 to 1000000, got -1');
    expect(oneLine(() => new BoundedSemaphore('s', { connection, value: 2.5 }))).toBe('BoundedSemaphore value must be a whole number from 0 to 1000000, got 2.5');
    expect(oneLine(() => new Semaphore('s', { connection, value: '3' as never }))).toBe('Semaphore value must be a whole number from 0 to 1000000, got "3"');
  });

  it('parties < 1, or none', () => {
    expect(oneLine(() => new Barrier('b', { connection, parties: 0 }))).toBe('barrier parties must be a whole number from 1 to 1000000, got 0');
    expect(oneLine(() => new Barrier('b', { connection, parties: -4 }))).toBe('barrier parties must be a whole number from 1 to 1000000, got -4');
    expect(oneLine(() => new Barrier('b', { connection } as never))).toBe('barrier "b" needs parties: new Barrier(name, { parties: 5 })');
  });

  it('options that are not options', () => {
    expect(oneLine(() => new Lock('l', { connection, lease: 10 }))).toBe('lease must be a whole number >= 100, got 10');
    expect(oneLine(() => new Lock('l', { connection, prefix: 'a b' }))).toMatch(/^prefix must be 1-50 letters/);
    expect(oneLine(() => new Lock('l', 'redis://x' as never))).toBe('lock options must be an object, got "redis://x"');
    expect(oneLine(() => new Condition('c', { connection, lock: {} as never }))).toBe('condition "c": lock must be an asyncq Lock, got object');
    expect(oneLine(() => new Lock('l', { connection: 'http://x' }))).toMatch(/^connection URL "http:\/\/x" must start with redis:\/\//);
  });

  it('a release of a lock never acquired, and waits with a bad timeout, fail before connecting', async () => {
    const lock = new Lock('never', { connection });
    const e = await lock.release().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LockNotHeld);
    expect((e as Error).message).toBe('lock "never" is not held by this handle: call release() only after acquire() succeeded, once per acquire');
    await expect(lock.acquire({ timeout: -1 })).rejects.toThrow(/^lock "never" acquire timeout must be a number of ms >= 0/);
    await expect(new Event('e', { connection }).wait({ timeout: Number.NaN })).rejects.toBeInstanceOf(ConfigError);
    await expect(new Condition('c', { connection }).wait()).rejects.toBeInstanceOf(LockNotHeld);
    await expect(new Condition('c', { connection }).notify(-1)).rejects.toThrow('notify n must be a whole number from 0 to 2147483647, got -1');
    await lock.close();
  });
});
