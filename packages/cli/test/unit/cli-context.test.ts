import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@asyncq/core';
import { CliError, redactSecrets, wholeNumber, wrapHandler, type CliContext } from '../../src/cli-context.js';

function context(): CliContext & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (l) => lines.push(l), err: (l) => lines.push(l), tty: false, exitCode: 0 };
}

describe('wrapHandler and friends (no Redis)', () => {
  const debug = process.env.ASYNCQ_DEBUG;
  afterEach(() => {
    if (debug === undefined) delete process.env.ASYNCQ_DEBUG;
    else process.env.ASYNCQ_DEBUG = debug;
  });

  it('an asyncq error is its own line; a CliError keeps its exit code', async () => {
    const ctx = context();
    await wrapHandler(ctx, async () => {
      throw new ConfigError('bad thing');
    })({});
    await wrapHandler(ctx, async () => {
      throw new CliError('worse', 3);
    })({});
    expect(ctx.lines).toEqual(['asyncq: bad thing', 'asyncq: worse']);
    expect(ctx.exitCode).toBe(3);
  });

  it('a port in use names the port, the host and the flag that picks another', async () => {
    const ctx = context();
    const inUse = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', port: 9465, address: '127.0.0.1' });
    await wrapHandler(ctx, async () => Promise.reject(inUse))({});
    await wrapHandler(ctx, async () => Promise.reject(inUse), { portFlag: '--metrics-port' })({});
    expect(ctx.lines).toEqual(['asyncq: port 9465 on 127.0.0.1 is in use: choose another with --port', 'asyncq: port 9465 on 127.0.0.1 is in use: choose another with --metrics-port']);
  });

  it('an unexpected error has a stack only with ASYNCQ_DEBUG', async () => {
    const ctx = context();
    const boom = async (): Promise<void> => Promise.reject(new TypeError('boom'));
    delete process.env.ASYNCQ_DEBUG;
    await wrapHandler(ctx, boom)({});
    process.env.ASYNCQ_DEBUG = '1';
    await wrapHandler(ctx, boom)({});
    expect(ctx.lines[0]).toBe('asyncq: unexpected error: boom (set ASYNCQ_DEBUG=1 for details)');
    expect(ctx.lines[1]).toMatch(/^asyncq: unexpected error: boom\nTypeError: boom\n\s+at /);
  });

  it('redacts passwords with any characters, whole URLs first', () => {
    const url = 'redis://user:p@ss w%2Frd:x@h:6379/0';
    expect(redactSecrets(`cannot use ${url}; password p@ss w%2Frd:x or p@ss w/rd:x`, { redisUrl: url }, {})).toBe('cannot use redis://***@h:6379/0; password *** or ***');
    expect(redactSecrets('AUTH hunter22 failed', {}, { ASYNCQ_REDIS_PASSWORD: 'hunter22' })).toBe('AUTH *** failed');
    expect(redactSecrets('bad %zz here', {}, { REDIS_URL: 'redis://:%zz@h:1' })).toBe('bad %zz here'); // too short to blank out
  });

  it('wholeNumber names the flag, the bounds and the value as typed', () => {
    expect(wholeNumber('-c', '16', 1, 100)).toBe(16);
    expect(() => wholeNumber('--concurrency', 'abc', 1, 10_000)).toThrow('--concurrency must be a whole number from 1 to 10000, got "abc"');
    expect(() => wholeNumber('--concurrency', '1e9', 1, 10_000)).toThrow('got "1e9"');
    expect(() => wholeNumber('--concurrency', Number.NaN, 1)).toThrow('--concurrency must be a whole number >= 1, got "NaN"');
  });
});
