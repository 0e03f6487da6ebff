import express from 'express';
import { noSuchTask } from '../queues/queue-reader.js';
import { readTaskRuns, taskAsJson, type TaskWithRuns } from '../queues/task-runs.js';
import { queryText } from './request-guard.js';
import { renderNoTask, renderTask } from './task-page.js';
import type { WorkerRoutesOptions } from './worker-route.js';

/** What the task routes need from the asyncq pages around them: what the worker pages need (the monitor, the prefix, how a page is made and sent). */
export type TaskRouteOptions = WorkerRoutesOptions;

/**
 * One task, attempt by attempt, as `asyncq inspect --id` shows it: the page `GET /task?queue=&id=`
 * and its JSON `GET /api/task?queue=&id=` (the task with `runs`, each naming its `worker`). The
 * queue and id go in the query, never in the path: a browser resolves a segment "." or ".." away.
 * 404 with one line for a queue or task that is not there. Only reads.
 */
export function taskRoute(opts: TaskRouteOptions): express.Router {
  const router = express.Router();
  /** The task, or the line saying what is not there. */
  const read = async (queue: string, id: string): Promise<TaskWithRuns | string> => {
    const reader = opts.monitor.reader(queue);
    if (!reader) return `no queue ${JSON.stringify(queue)} under prefix "${opts.prefix}"`;
    return (await readTaskRuns(reader, id)) ?? noSuchTask(queue, id);
  };
  router.get('/task', async (req, res) => {
    const queue = queryText(req, 'queue');
    const t = await read(queue, queryText(req, 'id'));
    if (typeof t === 'string') opts.sendPage(res, renderNoTask(t, opts.pageOptions(res)), 404);
    else opts.sendPage(res, renderTask(queue, t, opts.pageOptions(res)));
  });
  router.get('/api/task', async (req, res) => {
    const t = await read(queryText(req, 'queue'), queryText(req, 'id'));
    res.set('Cache-Control', 'no-store');
    if (typeof t === 'string') res.status(404).json({ error: t });
    else res.type('json').send(taskAsJson(t));
  });
  return router;
}
