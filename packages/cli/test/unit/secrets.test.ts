import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueAdmin, WorkerRegistry } from '@asyncq/core';
import { Worker } from '@asyncq/worker';
import { main } from '../../src/cli.js';
import type { CliContext } from '../../src/cli-context.js';
import { leaks, malformedUrls, MARKER } from '@asyncq/test-support';

// A property test of "no password in any output": random malformed connection strings holding a
// marker password, through every way asyncq takes a connection (the API's `connection` option and
// the CLI's flags and variables), in this process. No Redis: the strings that parse point at a
// closed port. The CLI as real processes, the fleet's children and the dashboard are in
// test/chaos/bad-input.test.ts.

let closed = 0;
let urls: string[] = [];
const SEED = 20_261_203;

beforeAll(async () => {
  closed = await new Promise<number>((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
  urls = malformedUrls(SEED, 150, closed);
});

const saved = { ...process.env };
afterAll(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

/** How a call ended, as the text a user could see: its error's message (and its cause's), or "ok". */
async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return 'ok';
  } catch (e) {
    const err = e as Error & { cause?: Error };
    return `${err?.message} ${String(err?.cause?.message ?? '')} ${String(err?.stack ?? '')}`;
  }
}

/** Runs the CLI in this process with `env` set, and returns everything it printed. */
async function cli(args: string[], env: Record<string, string>): Promise<string> {
  const lines: string[] = [];
  const ctx: CliContext = { out: (l) => lines.push(l), err: (l) => lines.push(l), tty: false, exitCode: 0 };
  for (const k of ['REDIS_URL', 'ASYNCQ_REDIS_URL', 'ASYNCQ_REDIS_CLUSTER', 'ASYNCQ_REDIS_SENTINELS', 'ASYNCQ_REDIS_MASTER', 'ASYNCQ_REDIS_PASSWORD']) delete process.env[k];
  Object.assign(process.env, env);
  try {
    const code = await main(args, ctx);
    return `${lines.join('\n')}\nexit ${code}`;
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
  }
}

describe('a password in a malformed connection string never comes out (property, no Redis)', () => {
  it('generates strings that hold the marker before an @', () => {
    expect(urls.length).toBe(150);
    for (const u of urls) expect(u.lastIndexOf('@')).toBeGreaterThan(u.lastIndexOf(MARKER));
    expect(urls).toContain(urls.find((u) => u.startsWith('redis:') && !u.startsWith('redis://')));
  });

  it('through the API: Queue, QueueAdmin, WorkerRegistry and Worker, as a URL and as { url }', { timeout: 120_000 }, async () => {
    const seen: Record<string, string> = {};
    for (const url of urls) {
      for (const connection of [url, { url }]) {
        const opts = { connection, connectTimeout: 500 };
        const texts = [
          await outcome(async () => {
            const q = new Queue('secrets', opts);
            try {
              await q.put(1);
            } finally {
              await q.close();
            }
          }),
          await outcome(async () => {
            const a = new QueueAdmin('secrets', opts);
            try {
              await a.counts();
            } finally {
              await a.close();
            }
          }),
          await outcome(async () => {
            const r = new WorkerRegistry('secrets', opts);
            try {
              await r.list();
            } finally {
              await r.close();
            }
          }),
          await outcome(() => new Worker('secrets', async () => 1, { connection, handleSignals: false, catchProcessErrors: false }).run()),
        ];
        for (const t of texts) if (leaks(t)) seen[JSON.stringify(connection)] = t;
      }
    }
    expect(seen).toEqual({});
  });

  it('through the CLI: --redis-url, REDIS_URL, ASYNCQ_REDIS_URL, --redis-cluster, --redis-sentinels and their variables', { timeout: 300_000 }, async () => {
    const seen: Record<string, string> = {};
    const ways: [string, (u: string) => [string[], Record<string, string>]][] = [
      ['--redis-url', (u) => [['stats', `--redis-url=${u}`], {}]],
      ['--redis-url (two words)', (u) => [['stats', '--redis-url', u], {}]],
      ['REDIS_URL', (u) => [['stats'], { REDIS_URL: u }]],
      ['ASYNCQ_REDIS_URL', (u) => [['stats'], { ASYNCQ_REDIS_URL: u }]],
      ['--redis-cluster', (u) => [['stats', '--redis-cluster', u], {}]],
      ['--redis-cluster, second entry', (u) => [['stats', '--redis-cluster', `127.0.0.1:${closed},${u}`], {}]],
      ['ASYNCQ_REDIS_CLUSTER', (u) => [['stats'], { ASYNCQ_REDIS_CLUSTER: u }]],
      ['--redis-sentinels', (u) => [['stats', '--redis-sentinels', u, '--redis-master', 'm'], {}]],
      ['ASYNCQ_REDIS_SENTINELS', (u) => [['stats'], { ASYNCQ_REDIS_SENTINELS: u, ASYNCQ_REDIS_MASTER: 'm' }]],
      ['a put', (u) => [['put', 'q', '{}', '--redis-url', u], {}]],
      ['a usage mistake next to it', (u) => [['stats', '--redis-url', u, '--bogus'], {}]],
    ];
    for (const url of urls) {
      for (const [way, make] of ways) {
        const [args, env] = make(url);
        const text = await cli(args, env);
        if (leaks(text)) seen[`${way} ${JSON.stringify(url)}`] = text;
      }
    }
    expect(seen).toEqual({});
  });
});
