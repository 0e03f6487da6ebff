// QueueAdmin.close() closes what the admin opened and nothing more: it must not connect, or build
// BullMQ's objects, on the way out (the CLI's `join` lost its one line to an error from that).
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { QueueAdmin } from '@asyncq/core';

const sockets: Socket[] = [];
let close = (): Promise<void> => Promise.resolve();

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await close();
});

/** A TCP port that accepts connections and never answers, counting them. */
async function silentPort(): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((s) => {
    accepted++;
    sockets.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  close = () => new Promise((r) => server.close(() => r()));
  return { port: (server.address() as { port: number }).port, accepted: () => accepted };
}

describe('QueueAdmin.close()', () => {
  it('opens no connection when the admin was never used', async () => {
    const { port, accepted } = await silentPort();
    const admin = new QueueAdmin('never-used', { connection: `redis://127.0.0.1:${port}`, connectTimeout: 300 });
    await admin.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(accepted()).toBe(0);
  });
});
