import express, { type NextFunction, type Request, type Response } from 'express';
import type { QueueList } from './dashboard-types.js';
import { taskRoute } from './task-route.js';
import { pageScript } from './page-assets.js';
import { PAGE_STYLE } from './page-style.js';
import { actOnGroup, failureReport } from './failure-groups.js';
import { renderFailures, renderHome, renderPage, type PageOptions } from './page-render.js';
import { QUEUE_ACTIONS, runQueueAction, type QueueAction } from './queue-actions.js';
import type { QueueMonitor } from './queue-monitor.js';
import { READ_ONLY_MESSAGE, READ_ROLE_MESSAGE, runTaskAction, TASK_ACTIONS, type TaskAction } from './task-actions.js';
import type { TaskState } from '@asyncq/core';
import { workerRoutes } from './worker-route.js';
import { queryText } from './request-guard.js';

/** Whether the user of this request may act: set by the auth in front (`res.locals.role`), admin when no roles are set. */
export function mayAct(res: Response, actions: boolean): boolean {
  return actions && res.locals.role !== 'read';
}

/** The history ranges the page offers: the last hour and day by minute, the last 30 days by hour. */
const HISTORY_RANGES: Record<string, { unit: 'minute' | 'hour'; count: number } | undefined> = {
  hour: { unit: 'minute', count: 60 },
  day: { unit: 'minute', count: 1440 },
  month: { unit: 'hour', count: 720 },
};

const LISTED_STATES: readonly TaskState[] = ['failed', 'waiting', 'delayed', 'active', 'completed', 'cancelled'];
/** Tasks the queue page lists at once. */
const TASKS_SHOWN = 50;

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
 * The asyncq pages and their JSON API. Pages: `GET /` (one row per queue), `GET /queue?name=` (one
 * queue, with its actions and tasks), `GET /failures[?name=]` (failed tasks grouped by error).
 * Reads: `GET /api/queues` (every queue's row data in one response), `GET /api/queues/:name` or
 * `GET /api/queue?name=` (one queue with its workers, partitions and throughput series),
 * `GET /api/queue/tasks?name=&state=` (its newest 50 tasks in a state), `GET /api/failures[?name=]`,
 * `GET /api/queue/history?name=&range=hour|day|month` (per-minute or per-hour counts and run times).
 * Changes, all PUT (so that no cross-site form can send one) and 403 unless actions are allowed to
 * this user: `PUT /api/queues/:name/tasks/:id/{retry,remove,promote,cancel}` or
 * `PUT /api/queue/tasks/{retry,...}?name=&id=`, `PUT /api/queue/actions/{retry-failed,pause,resume,purge,clean,scale,shutdown,reopen}?name=`
 * with a JSON body of parameters, and `PUT /api/failures/{retry,remove}?name=` with `{"group": key}`.
 */
export function apiRoutes(opts: ApiRoutesOptions): express.Router {
  const { monitor } = opts;
  const router = express.Router();
  const script = pageScript();

  router.use((req, res, next) => {
    if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method) && !mayAct(res, opts.actions)) {
      res.status(403).json({ error: opts.actions ? READ_ROLE_MESSAGE : READ_ONLY_MESSAGE });
      return;
    }
    next();
  });

  const pageOptions = (res: Response, boardPath = opts.boardPath): PageOptions => ({
    prefix: opts.prefix,
    actions: mayAct(res, opts.actions),
    boardPath,
    windowMs: opts.windowMs,
    intervalMs: opts.intervalMs,
    now: Date.now(),
  });
  const sendPage = (res: Response, html: string, status = 200): void =>
    void res.status(status).set('Content-Security-Policy', PAGE_CSP).set('Cache-Control', 'no-store').type('html').send(html);

  router.get('/', async (_req, res) => sendPage(res, renderHome(await monitor.list(), pageOptions(res))));
  router.get('/queue', async (req, res) => {
    const name = queryText(req, 'name');
    const detail = await monitor.detail(name);
    if (!detail) return sendPage(res, renderPage([], pageOptions(res)).replace('No queues under', `No queue ${escapeText(name)} under`), 404);
    sendPage(res, renderPage([detail], pageOptions(res)));
  });
  router.get('/failures', async (req, res) => {
    const name = req.url.includes('name=') ? queryText(req, 'name') : undefined;
    const readers = name === undefined ? monitor.readers() : [monitor.reader(name)].filter((r) => r !== undefined);
    sendPage(res, renderFailures(await failureReport(readers), name, pageOptions(res)));
  });
  router.use(taskRoute({ monitor, prefix: opts.prefix, pageOptions, sendPage }));
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
      monitor.forget(name);
      res.status(outcome.status).json(outcome.ok ? { ok: true, message: outcome.message } : { error: outcome.message });
    }
  };
  router.get('/api/queue/tasks', async (req, res) => {
    const reader = monitor.reader(queryText(req, 'name'));
    const state = queryText(req, 'state') as TaskState;
    if (!LISTED_STATES.includes(state)) return void res.status(400).json({ error: `state must be one of ${LISTED_STATES.join(', ')}` });
    if (!reader) return void res.status(404).json({ error: `no queue ${JSON.stringify(queryText(req, 'name'))} under prefix "${opts.prefix}"` });
    const tasks = await reader.admin.tasks(state, 0, TASKS_SHOWN - 1);
    res.set('Cache-Control', 'no-store').json({ tasks: tasks.map((t) => ({ id: t.id, name: t.name, attemptsMade: t.attemptsMade, timestamp: t.timestamp, error: t.error ?? '' })) });
  });
  // The queue's history from the rollups core keeps in Redis: 60 or 1,440 minutes, or 720 hours.
  router.get('/api/queue/history', async (req, res) => {
    const reader = monitor.reader(queryText(req, 'name'));
    const range = HISTORY_RANGES[queryText(req, 'range') || 'hour'];
    if (!range) return void res.status(400).json({ error: `range must be one of ${Object.keys(HISTORY_RANGES).join(', ')}` });
    if (!reader) return void res.status(404).json({ error: `no queue ${JSON.stringify(queryText(req, 'name'))} under prefix "${opts.prefix}"` });
    res.set('Cache-Control', 'no-store').json({ unit: range.unit, points: await reader.admin.history(range.unit, range.count) });
  });
  router.get('/api/failures', async (req, res) => {
    const name = req.url.includes('name=') ? queryText(req, 'name') : undefined;
    const readers = name === undefined ? monitor.readers() : [monitor.reader(name)].filter((r) => r !== undefined);
    if (name !== undefined && readers.length === 0) return void res.status(404).json({ error: `no queue ${JSON.stringify(name)} under prefix "${opts.prefix}"` });
    res.set('Cache-Control', 'no-store').json(await failureReport(readers));
  });
  router.put('/api/failures/:action', express.json({ limit: '16kb' }), async (req, res) => {
    const action = String(req.params.action);
    const reader = monitor.reader(queryText(req, 'name'));
    const group = typeof req.body?.group === 'string' ? (req.body.group as string) : '';
    if (action !== 'retry' && action !== 'remove') return void res.status(404).json({ error: `unknown action "${action}": use retry or remove` });
    if (!reader) return void res.status(404).json({ error: `no queue ${JSON.stringify(queryText(req, 'name'))} under prefix "${opts.prefix}"` });
    if (!group) return void res.status(400).json({ error: 'give the group to act on: a JSON body {"group": "<normalised error>"}' });
    const outcome = await actOnGroup(reader, group, action);
    res.status(outcome.status).json(outcome.ok ? { ok: true, message: outcome.message } : { error: outcome.message });
  });
  router.put('/api/queue/actions/:action', express.json({ limit: '16kb' }), async (req, res) => {
    const action = String(req.params.action);
    const reader = monitor.reader(queryText(req, 'name'));
    if (!QUEUE_ACTIONS.includes(action as QueueAction)) return void res.status(404).json({ error: `unknown action "${action}": use ${QUEUE_ACTIONS.join(', ')}` });
    if (!reader) return void res.status(404).json({ error: `no queue ${JSON.stringify(queryText(req, 'name'))} under prefix "${opts.prefix}"` });
    const outcome = await runQueueAction(reader, action as QueueAction, (req.body ?? {}) as Record<string, unknown>);
    monitor.forget(reader.name);
    res.status(outcome.status).json(outcome.ok ? { ok: true, message: outcome.message } : { error: outcome.message });
  });
  router.put('/api/queues/:name/tasks/:id/:action', (req, res) => taskAction(String(req.params.name), String(req.params.id), String(req.params.action), res));
  router.put('/api/queue/tasks/:action', (req, res) => taskAction(queryText(req, 'name'), queryText(req, 'id'), String(req.params.action), res));

  router.use(workerRoutes({ monitor, prefix: opts.prefix, pageOptions, sendPage }));
  router.use('/api', (_req, res) => void res.status(404).json({ error: 'no such API route: GET /api/queues lists the queues' }));
  return router;
}

/** Text for a page, HTML-escaped. */
function escapeText(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Last in the app: a failed read of Redis is 503 with one line, never a stack trace. */
export function redisErrors(err: Error, req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err);
  const message = `cannot read the queues from Redis: ${String(err?.message ?? err).split('\n')[0]}`;
  if (req.path.startsWith('/api') || req.path.startsWith('/board/api')) res.status(503).json({ error: message });
  else res.status(503).type('text/plain').send(`${message}\n`);
}
