import type { Server } from 'node:http';
import express from 'express';
import { type ConnectionOption } from '@asyncq/core';
import { connectRedis } from '@asyncq/core/internal';
import { CliError } from '../cli-error.js';
import { apiRoutes, redisErrors } from './api-routes.js';
import { basicAuth, type BasicCredentials } from './basic-auth.js';
import { locksRoute } from './locks-route.js';
import { QueueBoard } from './board-mount.js';
import { QueueMonitor } from './queue-monitor.js';
import { hostAllowList, requestGuard } from './request-guard.js';

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** Where Redis is; an ioredis client given here is shared and left open. */
  connection: ConnectionOption;
  /** Redis key prefix of the queues. @defaultValue 'asyncq' */
  prefix?: string;
  /** Port to listen on; 0 picks a free one. @defaultValue 3000 */
  port?: number;
  /** Address to bind. @defaultValue '127.0.0.1' */
  host?: string;
  /** Allow the admin verbs: the asyncq page's buttons and API, and bull-board's buttons for what asyncq can do (see `board-actions.ts`); otherwise every change is refused with 403. @defaultValue false */
  actions?: boolean;
  /** Ask for these credentials (HTTP basic auth) on every request; failed logins are throttled per client. This user is the admin: it may act when `actions` is set. @defaultValue none */
  auth?: BasicCredentials;
  /** A second user who may only look (needs `auth`): every change it asks for is refused with 403, and its pages show no buttons. @defaultValue none */
  readAuth?: BasicCredentials;
  /**
   * Host names the dashboard answers to besides its own address (and `localhost` when bound to
   * loopback): the names a reverse proxy or DNS gives it. Any other `Host` is refused (DNS
   * rebinding). @defaultValue none
   */
  allowedHosts?: readonly string[];
  /** How often the queues are read for the page and the throughput series, ms. @defaultValue 2000 */
  intervalMs?: number;
  /** How much throughput history the chart shows, ms. @defaultValue 300000 */
  windowMs?: number;
}

/** A dashboard serving. */
export interface RunningDashboard {
  /** The address to open, e.g. `http://127.0.0.1:3000/`. */
  readonly url: string;
  readonly port: number;
  /** Stops serving and closes every Redis connection it opened. */
  close(): Promise<void>;
}

/** Where bull-board is mounted. */
export const BOARD_PATH = '/board';

/**
 * Serves the dashboard: the asyncq page at `/`, its JSON API under `/api`, and bull-board over
 * every queue at `/board`. It reaches Redis once before listening (an unreachable Redis fails
 * here) and fails with one line when the port is taken.
 *
 * @example
 * ```ts
 * const d = await startDashboard({ connection: 'redis://127.0.0.1:6379', port: 3000 });
 * console.log(`open ${d.url}`);
 * await d.close();
 * ```
 */
export async function startDashboard(opts: DashboardOptions): Promise<RunningDashboard> {
  const prefix = opts.prefix ?? 'asyncq';
  const host = opts.host ?? '127.0.0.1';
  if (!host.trim()) throw new CliError('--host is empty: give the address to listen on, e.g. 127.0.0.1 (0.0.0.0 for every interface, with --auth)');
  const allow = hostAllowList(host, opts.allowedHosts);
  const port = opts.port ?? 3000;
  const actions = opts.actions ?? false;
  const intervalMs = opts.intervalMs ?? 2000;
  const windowMs = opts.windowMs ?? 300_000;
  // A request for a page must not hang for core's default 20 s while Redis is away: answer 503 sooner.
  const client = await connectRedis(opts.connection, { name: 'asyncq:dashboard', commandTimeout: 5000 });
  const owned = client !== opts.connection;
  let monitor: QueueMonitor | undefined;
  try {
    const board = new QueueBoard({ basePath: BOARD_PATH, actions, homePath: '../' });
    monitor = await QueueMonitor.start({ connection: client, prefix, intervalMs, onQueues: (queues, readers) => board.sync(queues, readers) });
    const app = express();
    app.disable('x-powered-by');
    app.use((_req, res, next) => {
      res.set({ 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' });
      next();
    });
    app.use(requestGuard(allow));
    if (opts.readAuth && !opts.auth) throw new CliError('--read-auth needs --auth: the admin user the read-only one stands beside');
    if (opts.auth) app.use(basicAuth(opts.auth, opts.readAuth));
    app.use(BOARD_PATH, board.app);
    app.use(locksRoute({ client, prefix }));
    app.use(apiRoutes({ monitor, prefix, actions, boardPath: BOARD_PATH.slice(1), intervalMs, windowMs }));
    app.use(redisErrors);
    const server = await listen(app, port, host);
    const bound = (server.address() as { port: number }).port;
    const shown = host.includes(':') ? `[${host}]` : host;
    const m = monitor;
    return {
      url: `http://${shown}:${bound}/`,
      port: bound,
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await m.close();
        if (owned) await client.quit().catch(() => client.disconnect());
      },
    };
  } catch (e) {
    await monitor?.close();
    if (owned) client.disconnect();
    throw e;
  }
}

/** Listens, turning the usual mistakes into one line that says what to do. */
function listen(app: express.Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new CliError(`port ${port} on ${host} is in use: choose another with --port`));
      else if (e.code === 'EACCES') reject(new CliError(`port ${port} on ${host} needs privileges: choose one above 1023 with --port`));
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') reject(new CliError(`cannot listen on ${host}: no such address on this machine; try --host 127.0.0.1`));
      else reject(e);
    });
  });
}
