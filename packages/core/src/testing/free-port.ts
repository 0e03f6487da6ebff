import { createServer, type Server } from 'node:net';

/** A TCP port free on 127.0.0.1 now (the kernel's choice); the caller binds it right after. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/**
 * `count` distinct free loopback ports. All are held open until every one is found, so none is
 * handed out twice; another program may still take one before the caller binds it, which a
 * server's start then reports (and {@link startEmbeddedRedis} retries on another port).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const srv = createServer();
      srv.unref();
      servers.push(srv);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen(0, '127.0.0.1', () => {
            const addr = srv.address();
            if (typeof addr === 'object' && addr) resolve(addr.port);
            else reject(new Error('no free port'));
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}
