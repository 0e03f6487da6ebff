import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { listenOn, type MetricsServer } from '@asyncq/worker';
import type { FleetSupervisor } from './fleet-supervisor.js';
import { mergeSlotTexts, type SlotText } from './metrics-merge.js';

/** How long the fleet waits for one worker's `/metrics`, ms: a slow worker costs its slot, not the scrape. */
const SLOT_SCRAPE_MS = 2000;

/**
 * The fleet's one `/metrics`: every running worker's own `/metrics` (on `--metrics-port-base` +
 * slot), scraped at each request and merged with a `slot` label (see {@link mergeSlotTexts}),
 * plus the fleet's own series: restarts, workers kept and running, and which slots answered.
 * Prometheus then scrapes one port per fleet, whatever autoscaling does to the slots.
 */
export class FleetMetrics {
  readonly registry = new Registry();
  private lastUp: { slot: number; up: boolean }[] = [];

  constructor(private readonly fleet: FleetSupervisor) {
    const registers = [this.registry];
    const queue = fleet.queue;
    new Counter({
      name: 'asyncq_fleet_restarts_total',
      help: 'Worker processes the fleet restarted after a crash, since the fleet started.',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        this.inc({ queue }, fleet.restarts);
      },
    });
    new Gauge({
      name: 'asyncq_fleet_workers',
      help: 'Worker processes the fleet keeps: running, or crashed and about to be restarted.',
      labelNames: ['queue'],
      registers,
      collect() {
        this.set({ queue }, fleet.size);
      },
    });
    new Gauge({
      name: 'asyncq_fleet_workers_running',
      help: 'Worker processes of the fleet running now.',
      labelNames: ['queue'],
      registers,
      collect() {
        this.set({ queue }, fleet.running);
      },
    });
    const up = (): { slot: number; up: boolean }[] => this.lastUp;
    new Gauge({
      name: 'asyncq_fleet_slot_up',
      help: "Whether the worker in a slot answered the fleet's scrape of its /metrics (1) or not (0).",
      labelNames: ['queue', 'slot'],
      registers,
      collect() {
        this.reset();
        for (const s of up()) this.set({ queue, slot: String(s.slot) }, s.up ? 1 : 0);
      },
    });
  }

  /** Scrapes every running worker at once and answers with their merged text and the fleet's own. */
  async text(): Promise<string> {
    const targets = this.fleet.metricsTargets();
    const got = await Promise.all(
      targets.map(async (t): Promise<SlotText | undefined> => {
        try {
          const res = await fetch(`http://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}/metrics`, { signal: AbortSignal.timeout(SLOT_SCRAPE_MS) });
          return res.ok ? { slot: t.slot, text: await res.text() } : undefined;
        } catch {
          return undefined; // a worker starting, restarting or stuck: its slot_up says so
        }
      }),
    );
    this.lastUp = targets.map((t, i) => ({ slot: t.slot, up: got[i] !== undefined }));
    return mergeSlotTexts(
      got.filter((g) => g !== undefined),
      await this.registry.metrics(),
    );
  }

  /** Serves `/metrics` and `/livez` on `host:port` (0: any free port). */
  serve(port: number, host: string): Promise<MetricsServer> {
    const server: Server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/metrics') {
        this.text().then(
          (t) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(t),
          (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String((e as Error)?.message ?? e)}\n`),
        );
      } else if (req.method === 'GET' && path === '/livez') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'live', pid: process.pid }));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /livez\n');
      }
    });
    return listenOn(server, port, host);
  }
}
