import express, { type Response } from 'express';
import { workerEntry } from '../queues/worker-entry.js';
import type { WorkerList, WorkerView } from './dashboard-types.js';
import { escapeHtml, shell, type PageOptions } from './page-render.js';
import type { QueueMonitor } from './queue-monitor.js';
import { queryText } from './request-guard.js';
import { renderWorker, renderWorkers } from './worker-page.js';

/** What the worker routes need from the asyncq pages around them. */
export interface WorkerRoutesOptions {
  monitor: QueueMonitor;
  prefix: string;
  /** The options of a page for this response (its user's role decides what it shows). */
  pageOptions: (res: Response) => PageOptions;
  /** Sends a page as every asyncq page is sent (its Content-Security-Policy, no caching). */
  sendPage: (res: Response, html: string, status?: number) => void;
}

/**
 * The worker pages and their JSON, read from the queue's worker registry (what `asyncq workers`
 * reads; a worker is named by the same id there, on the queue page, in `inspect`, `join` and
 * `watch`). Pages: `GET /worker?queue=&id=` (one worker: who, load, current tasks, counters, and
 * whether it is live, stale or gone) and `GET /workers?queue=` (a queue's live workers). JSON:
 * `GET /api/worker?queue=&id=` ({@link WorkerView}; 404 with `state: 'gone'` once it is not
 * listed) and `GET /api/workers?queue=` ({@link WorkerList}). Only reads.
 */
export function workerRoutes(opts: WorkerRoutesOptions): express.Router {
  const router = express.Router();
  const noQueue = (queue: string): string => `no queue ${JSON.stringify(queue)} under prefix "${opts.prefix}"`;

  /** The queue's live workers now, oldest first; undefined when no such queue is watched. */
  const readList = async (queue: string): Promise<WorkerList | undefined> => {
    const reader = opts.monitor.reader(queue);
    if (!reader) return undefined;
    const workers = await reader.registry.list();
    const at = Date.now();
    return { queue, at, workers: workers.map((w) => workerEntry(w, at)) };
  };
  const readWorker = async (queue: string, id: string): Promise<WorkerView | undefined> => {
    const list = await readList(queue);
    if (!list) return undefined;
    const worker = list.workers.find((w) => w.id === id) ?? null;
    return { queue, id, at: list.at, state: worker === null ? 'gone' : worker.stale ? 'stale' : 'live', worker };
  };
  const missingPage = (res: Response, kind: 'worker' | 'workers', text: string): void =>
    opts.sendPage(res, shell(kind, 'no such queue', `<p class="empty">${escapeHtml(text)}: <a href="./">every queue</a></p>`, opts.pageOptions(res)), 404);

  router.get('/worker', async (req, res) => {
    const v = await readWorker(queryText(req, 'queue'), queryText(req, 'id'));
    if (!v) return missingPage(res, 'worker', noQueue(queryText(req, 'queue')));
    opts.sendPage(res, renderWorker(v, opts.pageOptions(res)), v.state === 'gone' ? 404 : 200);
  });
  router.get('/workers', async (req, res) => {
    const list = await readList(queryText(req, 'queue'));
    if (!list) return missingPage(res, 'workers', noQueue(queryText(req, 'queue')));
    opts.sendPage(res, renderWorkers(list, opts.pageOptions(res)));
  });
  router.get('/api/worker', async (req, res) => {
    const v = await readWorker(queryText(req, 'queue'), queryText(req, 'id'));
    res.set('Cache-Control', 'no-store');
    if (!v) return void res.status(404).json({ error: `${noQueue(queryText(req, 'queue'))} (GET /api/queues lists them)` });
    if (v.state === 'gone') return void res.status(404).json({ ...v, error: `no live worker ${JSON.stringify(v.id)} on queue ${JSON.stringify(v.queue)}: it stopped, or missed three heartbeats` });
    res.json(v);
  });
  router.get('/api/workers', async (req, res) => {
    const list = await readList(queryText(req, 'queue'));
    res.set('Cache-Control', 'no-store');
    if (!list) return void res.status(404).json({ error: `${noQueue(queryText(req, 'queue'))} (GET /api/queues lists them)` });
    res.json(list);
  });
  return router;
}
