// A reply lost on the wire: the command ran in Redis, the connection dropped before its answer
// came back, and ioredis sends it again once reconnected. A primitive's step must not happen twice.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Barrier, Lock, Semaphore, WaitAborted } from '@asyncq/core';
import { redisUrl, sleep, track, uniqueName } from '@asyncq/test-support';

/** A TCP proxy to the test Redis that can drop the connection instead of passing on the next reply. */
class ReplyDropper {
  private armed = false;
  dropped = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<ReplyDropper> {
    const target = new URL(redisUrl());
    let self: ReplyDropper | undefined;
    const server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      self!.sockets.add(client).add(upstream);
      client.on('data', (d) => upstream.write(d));
      upstream.on('data', (d) => {
        if (self!.armed) {
          self!.armed = false;
          self!.dropped++;
          client.destroy();
          upstream.destroy();
        } else client.write(d);
      });
      for (const s of [client, upstream]) {
        s.on('error', () => {});
        s.on('close', () => (client.destroy(), upstream.destroy()));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    self = new ReplyDropper(server, (server.address() as { port: number }).port);
    return self;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The next reply from Redis, on any connection, is dropped with its connection. */
  dropNextReply(): void {
    this.armed = true;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

let proxy: ReplyDropper | undefined;
const proxied: { close(): Promise<void> }[] = [];
afterEach(async () => {
  // Handles on the proxy close while it still passes their goodbyes on.
  for (const h of proxied.splice(0)) await h.close();
  await proxy?.close();
  proxy = undefined;
});

function viaProxy<H extends { close(): Promise<void> }>(h: H): H {
  proxied.push(h);
  return h;
}

describe('a reply lost on the wire', () => {
  it('a release sent again does not reject with LeaseLost, nor touch the next holder', async () => {
    proxy = await ReplyDropper.start();
    const name = uniqueName('resend');
    const holder = viaProxy(new Lock(name, { connection: proxy.url }));
    const next = track(new Lock(name, { connection: redisUrl() }), `lock:${name}`);
    await holder.acquire();
    const acquired = next.acquire();
    await sleep(100);
    proxy.dropNextReply();
    await holder.release();
    expect(proxy.dropped).toBe(1);
    await acquired;
    expect(await next.locked()).toBe(true);
    await next.release();
  });

  it('a release by a handle holding no permit, sent again, adds one permit, not two (also before any acquire)', async () => {
    proxy = await ReplyDropper.start();
    const name = uniqueName('resend-sem');
    const signaller = viaProxy(new Semaphore(name, { connection: proxy.url, value: 0 }));
    const taker = track(new Semaphore(name, { connection: redisUrl(), value: 0 }), `sem:${name}`);
    await signaller.locked(); // connected
    proxy.dropNextReply();
    await signaller.release();
    expect(proxy.dropped).toBe(1);
    await taker.acquire({ timeout: 5000 });
    await expect(taker.acquire({ timeout: 300 })).rejects.toBeInstanceOf(WaitAborted);
  });

  it('an arrival that trips a barrier, sent again, passes once and leaves no ghost party', async () => {
    proxy = await ReplyDropper.start();
    const name = uniqueName('resend-b');
    const a = track(new Barrier(name, { connection: redisUrl(), parties: 2 }), `barrier:${name}`);
    const b = viaProxy(new Barrier(name, { connection: proxy.url, parties: 2 }));
    const first = a.wait();
    await expect.poll(() => a.nWaiting()).toBe(1);
    // Connects and subscribes b before the drop, without arriving (its signal is aborted already).
    await expect(b.wait({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(WaitAborted);
    proxy.dropNextReply();
    expect(await b.wait({ timeout: 5000 })).toBe(1);
    expect(await first).toBe(0);
    expect(proxy.dropped).toBe(1);
    expect(await a.nWaiting()).toBe(0);
  });
});
