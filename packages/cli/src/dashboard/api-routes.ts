import express, { type NextFunction, type Request, type Response } from 'express';
import type { QueueList } from './dashboard-types.js';
import { PAGE_STYLE, pageScript } from './page-assets.js';
import { renderPage } from './page-render.js';
import type { QueueMonitor } from './queue-monitor.js';
import { READ_ONLY_MESSAGE, runTaskAction, TASK_ACTIONS, type TaskAction } from './task-actions.js';

/** What the routes need. */
export interface ApiRoutesOptions {
  monitor: QueueMonitor;
  prefix: string;
  actions: boolean;
  /** bull-board's path relative to the page, e.g. `board`. */
  boardPath: string;
  intervalMs: number;
  windowMs: number;
}

// The page runs only its own script and style: text from Redis that slipped past escaping still
// could not run.
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The asyncq page (`GET /`), its assets, and the JSON API: `GET /api/queues` (every queue with its
 * counts, state, totals, workers and drain time), `GET /api/queues/:name` or `GET /api/queue?name=`
 * (one queue with its workers, partitions and throughput series) and
 * `PUT /api/queues/:name/tasks/:id/{retry,remove,promote,cancel}` or `PUT /api/queue/tasks/{retry,...}?name=&id=`
 * (403 unless actions are allowed; PUT so that no cross-site form can send it).
 */
export function apiRoutes(opts: ApiRoutesOptions): express.Router {
  const { monitor } = opts;
  const router = express.Router();
  const script = pageScript();

  router.use((req, res, next) => {
    if (!opts.actions && !['GET', 'HEAD', 'OPTIONS'].includes(req.method)) {
      res.status(403).json({ error: READ_ONLY_MESSAGE });
      return;
    }
    next();
  });

  router.get('/', async (_req, res) => {
    const queues = await Promise.all(monitor.queues().map((q) => monitor.detail(q.name)));
    const html = renderPage(
      queues.filter((q) => q !== undefined),
      { prefix: opts.prefix, actions: opts.actions, boardPath: opts.boardPath, windowMs: opts.windowMs, intervalMs: opts.intervalMs, now: Date.now() },
    );
    res.set('Content-Security-Policy', PAGE_CSP).set('Cache-Control', 'no-store').type('html').send(html);
  });
  router.get('/assets/dashboard.js', (_req, res) => void res.type('text/javascript').set('Cache-Control', 'no-cache').send(script));
  router.get('/favicon.ico', (_req, res) => void res.status(204).end());
  router.get('/assets/dashboard.css', (_req, res) => void res.type('text/css').set('Cache-Control', 'no-cache').send(PAGE_STYLE));

  router.get('/api/queues', async (_req, res) => {
    const body: QueueList = { prefix: opts.prefix, actions: opts.actions, queues: await monitor.list() };
    res.set('Cache-Control', 'no-store').json(body);
  });

  // Each route that names a queue (or task) takes it as a path segment, or in the query (`?name=`,
  // `&id=`): a browser resolves a segment "." or ".." away, so the page itself uses the query form.
  const oneQueue = async (name: string, res: Response): Promise<void> => {
    const detail = monitor.detail(name);
    if (!detail) {
      res.status(404).json({ error: `no queue ${JSON.stringify(name)} under prefix "${opts.prefix}" (GET /api/queues lists them)` });
      return;
    }
    res.set('Cache-Control', 'no-store').json(await detail);
  };
  router.get('/api/queues/:name', (req, res) => oneQueue(String(req.params.name), res));
  router.get('/api/queue', (req, res) => oneQueue(queryText(req, 'name'), res));

  const taskAction = async (name: string, id: string, action: string, res: Response): Promise<void> => {
    const reader = monitor.reader(name);
    if (!TASK_ACTIONS.includes(action as TaskAction)) {
      res.status(404).json({ error: `unknown action "${action}": use ${TASK_ACTIONS.join(', ')}` });
    } else if (!reader) {
      res.status(404).json({ error: `no queue ${JSON.stringify(name)} under prefix "${opts.prefix}"` });
    } else {
      const outcome = await runTaskAction(reader.admin, action as TaskAction, id);
      res.status(outcome.status).json(outcome.ok ? { ok: true, message: outcome.message } : { error: outcome.message });
    }
  };
  router.put('/api/queues/:name/tasks/:id/:action', (req, res) => taskAction(String(req.params.name), String(req.params.id), String(req.params.action), res));
  router.put('/api/queue/tasks/:action', (req, res) => taskAction(queryText(req, 'name'), queryText(req, 'id'), String(req.params.action), res));

  router.use('/api', (_req, res) => void res.status(404).json({ error: 'no such API route: GET /api/queues lists the queues' }));
  return router;
}

/** A query parameter as one text ("" when absent or given twice). */
function queryText(req: Request, name: string): string {
  const v = new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1 || req.url.length)).getAll(name);
  return v.length === 1 ? v[0]! : '';
}

/** Last in the app: a failed read of Redis is 503 with one line, never a stack trace. */
export function redisErrors(err: Error, req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err);
  const message = `cannot read the queues from Redis: ${String(err?.message ?? err).split('\n')[0]}`;
  if (req.path.startsWith('/api') || req.path.startsWith('/board/api')) res.status(503).json({ error: message });
  else res.status(503).type('text/plain').send(`${message}\n`);
}
