import { createServer, type Server } from 'node:http';
import { listenOn } from '@asyncq/worker';
import type { QueueExporter } from './queue-exporter.js';

/** A running exporter server. */
export interface ExporterServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves an exporter on `host:port` (0 picks a free port):
 * - `/metrics`: the Prometheus text, 200 even when Redis is down (`asyncq_up 0` says so: the
 *   exporter is how a dashboard learns that Redis is down, so it must stay scrapable), within the
 *   scrape timeout Prometheus sends (`X-Prometheus-Scrape-Timeout-Seconds`);
 * - `/healthz`: 200 when Redis answers a PING in time, else 503 with the reason;
 * - `/livez`: 200 while the process serves (a liveness probe must not restart it for Redis' sake).
 */
export async function serveExporter(exporter: QueueExporter, port: number, host: string): Promise<ExporterServer> {
  const json = (status: number, body: object): [number, Record<string, string>, string] => [status, { 'content-type': 'application/json' }, JSON.stringify(body)];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = async (): Promise<[number, Record<string, string>, string]> => {
      if (req.method !== 'GET') return [405, { 'content-type': 'text/plain' }, 'GET only\n'];
      if (path === '/metrics') {
        // Prometheus says how long it waits for this scrape: the collect answers within it.
        const limit = Number(req.headers['x-prometheus-scrape-timeout-seconds']);
        if (limit > 0) exporter.limitNextCollect(limit * 1000);
        return [200, { 'content-type': exporter.registry.contentType }, await exporter.metrics()];
      }
      if (path === '/livez') return json(200, { status: 'ok' });
      if (path === '/healthz') {
        const h = await exporter.health();
        return h.ok ? json(200, { status: 'ok', redis: 'up' }) : json(503, { status: 'unavailable', redis: 'down', error: h.error });
      }
      return [404, { 'content-type': 'text/plain' }, 'not found: try /metrics, /healthz or /livez\n'];
    };
    if (path === '/metrics') res.once('finish', () => exporter.answered());
    answer().then(
      ([status, headers, body]) => res.writeHead(status, headers).end(body),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String((e as Error)?.message ?? e)}\n`),
    );
  });
  return listenOn(server, port, host);
}
