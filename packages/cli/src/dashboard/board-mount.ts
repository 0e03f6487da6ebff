import { createBullBoard } from '@bull-board/api';
import { ExpressAdapter } from '@bull-board/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { FoundQueue } from '@asyncq/core/internal';
import type { QueueReader } from '../queues/queue-reader.js';
import { AsyncqBoardAdapter, BoardWorkerNames } from './board-adapter.js';
import { READ_ONLY_MESSAGE, READ_ROLE_MESSAGE, runTaskAction, taskIdOf, type TaskAction } from './task-actions.js';

/** Options of a {@link QueueBoard}. */
export interface QueueBoardOptions {
  /** Where bull-board is mounted, e.g. `/board`. */
  basePath: string;
  /** Whether its API may retry, remove and promote tasks and retry all failed, through asyncq's admin (else every change is refused). */
  actions: boolean;
  /** Where the asyncq page is, linked from bull-board's header. */
  homePath: string;
}

/** Which asyncq queue (and partition) a BullMQ queue that bull-board shows belongs to. */
interface Partition {
  reader: QueueReader;
  partition: number;
  partitions: number;
}

/** The most tasks one page of bull-board lists (`jobsPerPage`): its settings offer up to 300 a page, and any number was served. */
export const MAX_JOBS_PER_PAGE = 100;

/**
 * bull-board's pages run its own scripts and styles only, and load nothing from elsewhere (its page
 * links a web font from Google, which {@link localPage} takes out). Inline styles stay allowed:
 * its page and components set style attributes; no inline script runs.
 */
export const BOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
  "connect-src 'self'; manifest-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'";

/** bull-board's HTML without links to other sites (`<link href="https://...">`, its web font): the page then uses system fonts. */
export function localPage(html: string): string {
  return html.replace(/<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?\/\/[^>]*>\s*/gi, '');
}

/** bull-board's three job actions, by the last segment of their route, and what asyncq does for each. */
const JOB_ROUTES: Record<string, TaskAction> = { retry: 'retry', clean: 'remove', promote: 'promote' };

/**
 * bull-board over every asyncq queue: one BullMQ queue per partition (core's `QueueAdmin.bullmq()`,
 * which never writes queue meta), kept in step with the queues the monitor finds, each job naming
 * its worker by asyncq's worker id ({@link AsyncqBoardAdapter}). In front of
 * bull-board's API sits a guard: without `actions` every request that would change something is
 * refused with 403; with it, a job's retry, remove and promote run through asyncq's admin (which
 * wakes the queue's consumers), and bull-board's other changes (add, empty, obliterate, pause, edit
 * data...) stay refused, since they would go around asyncq's bookkeeping of join and maxsize.
 */
export class QueueBoard {
  /** The express app to mount at `basePath`. */
  readonly app: express.Router = express.Router();
  private readonly serverAdapter = new ExpressAdapter();
  private readonly board: ReturnType<typeof createBullBoard>;
  private byBullName = new Map<string, Partition>();
  /** One registry cache per queue, shared by its partitions and kept across syncs. */
  private readonly names = new WeakMap<QueueReader, BoardWorkerNames>();

  constructor(private readonly opts: QueueBoardOptions) {
    this.serverAdapter.setBasePath(opts.basePath);
    this.board = createBullBoard({
      queues: [],
      serverAdapter: this.serverAdapter,
      options: {
        uiConfig: {
          boardTitle: 'asyncq',
          miscLinks: [{ text: 'asyncq queues', url: opts.homePath }],
          hideDocsLink: true,
          // bull-board finds workers by BullMQ's connection names; asyncq's are on the asyncq page.
          showWorkers: false,
        },
      },
    });
    this.app.use(localPages);
    this.app.use('/api', (req, res, next) => void this.guard(req, res, next).catch(next));
    this.app.use(this.serverAdapter.getRouter() as express.Router);
  }

  /** Shows exactly `queues` (partitions as queues of their own), reading them through `readers`. */
  async sync(queues: readonly FoundQueue[], readers: ReadonlyMap<string, QueueReader>): Promise<void> {
    const adapters: AsyncqBoardAdapter[] = [];
    const byBullName = new Map<string, Partition>();
    for (const q of [...queues].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const reader = readers.get(q.name);
      if (!reader) continue;
      const parts = await reader.admin.bullmq();
      const names = this.names.get(reader) ?? new BoardWorkerNames(reader.registry);
      this.names.set(reader, names);
      parts.forEach((bull, partition) => {
        byBullName.set(bull.name, { reader, partition, partitions: parts.length });
        const options = {
          // bull-board's options hide either every action or none: with readOnlyMode off it also
          // shows Add, Duplicate, Edit, Pause, Empty and Obliterate, which would go around
          // asyncq's join and maxsize bookkeeping. So it shows none, and the asyncq page has every
          // action; its API's retry, remove, promote and retry-all still run through asyncq.
          readOnlyMode: true,
          allowRetries: false,
          // Its menu shows a queue's BullMQ name, hash-tag braces and all, unless a delimiter is
          // set: then it strips them and splits on the delimiter, one that no queue name holds.
          delimiter: '\u0000',
          displayName: parts.length > 1 ? `${q.name} #${partition}` : q.name,
          description: parts.length > 1 ? `partition ${partition} of ${parts.length} of asyncq queue ${q.name}` : `asyncq queue ${q.name}`,
        };
        adapters.push(new AsyncqBoardAdapter(bull, options, names));
      });
    }
    this.byBullName = byBullName;
    this.board.replaceQueues(adapters);
  }

  /** Refuses changes unless allowed; runs the allowed job actions through asyncq. */
  private async guard(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') {
      boundPageSize(req);
      return next();
    }
    if (!this.opts.actions || res.locals.role === 'read') {
      res.status(403).json({ error: { key: 'ERRORS.FORBIDDEN' }, message: this.opts.actions ? READ_ROLE_MESSAGE : READ_ONLY_MESSAGE });
      return;
    }
    const m = /^\/queues\/([^/]+)\/([^/]+)\/([a-z]+)$/.exec(req.path);
    if (m && req.method === 'PUT' && m[2] === 'retry' && m[3] === 'failed') {
      const target = this.byBullName.get(decodeURIComponent(m[1]!));
      if (!target) return void res.status(404).json({ error: { key: 'ERRORS.QUEUE_NOT_FOUND' } });
      await retryPartitionFailed(target);
      return void res.status(200).json({});
    }
    const action = m && req.method === 'PUT' ? JOB_ROUTES[m[3]!] : undefined;
    const target = m ? this.byBullName.get(decodeURIComponent(m[1]!)) : undefined;
    if (!m || !action) {
      res.status(403).json({
        error: { key: 'ERRORS.FORBIDDEN' },
        message: "bull-board here only retries, removes and promotes tasks and retries all failed; the asyncq page's actions (or the asyncq command) do the rest: pause, purge, clean, scale, shutdown",
      });
      return;
    }
    if (!target) {
      res.status(404).json({ error: { key: 'ERRORS.QUEUE_NOT_FOUND' } });
      return;
    }
    const id = taskIdOf(decodeURIComponent(m[2]!), target.partition, target.partitions);
    const outcome = await runTaskAction(target.reader.admin, action, id);
    if (outcome.ok) res.status(204).end();
    else res.status(outcome.status).json({ error: { key: action === 'remove' ? 'ERRORS.JOB_IS_ACTIVE' : 'ERRORS.JOB_NOT_FOUND' }, message: outcome.message });
  }
}

/**
 * bull-board's Retry all on one partition, through asyncq's admin: the whole queue's failed tasks
 * at once when it has one partition, else that partition's, one by one (newest 10,000).
 */
async function retryPartitionFailed(target: Partition): Promise<number> {
  const { admin } = target.reader;
  if (target.partitions === 1) return admin.retryFailed();
  let n = 0;
  for (const t of await admin.tasks('failed', 0, 9999)) if (t.partition === target.partition && (await admin.retry(t.id))) n++;
  return n;
}

/** Every bull-board response gets {@link BOARD_CSP}; its HTML page is served without links to other sites. */
function localPages(_req: Request, res: Response, next: NextFunction): void {
  res.set('Content-Security-Policy', BOARD_CSP);
  const send = res.send.bind(res);
  res.send = (body?: unknown) => send(typeof body === 'string' && /^\s*<!doctype html/i.test(body) ? localPage(body) : body);
  next();
}

/** Caps `jobsPerPage` of bull-board's GET API at {@link MAX_JOBS_PER_PAGE}, in the URL it reads its query from. */
function boundPageSize(req: Request): void {
  const q = req.url.indexOf('?');
  if (q < 0 || !/jobsPerPage=/i.test(req.url)) return;
  const params = new URLSearchParams(req.url.slice(q + 1));
  const asked = Number(params.get('jobsPerPage'));
  if (!(asked > MAX_JOBS_PER_PAGE)) return; // bull-board refuses what is not a whole number >= 1 itself
  params.set('jobsPerPage', String(MAX_JOBS_PER_PAGE));
  req.url = `${req.url.slice(0, q)}?${params.toString()}`;
}
