import { createBullBoard } from '@bull-board/api';
import { ExpressAdapter } from '@bull-board/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { FoundQueue } from '@asyncq/core/internal';
import type { QueueReader } from '../queues/queue-reader.js';
import { runBoardChange, type BoardPartition } from './board-actions.js';
import { AsyncqBoardAdapter, BoardWorkerNames } from './board-adapter.js';
import { BOARD_STYLE, BOARD_STYLE_PATH } from './board-style.js';
import { READ_ONLY_MESSAGE, READ_ROLE_MESSAGE } from './task-actions.js';

/** Options of a {@link QueueBoard}. */
export interface QueueBoardOptions {
  /** Where bull-board is mounted, e.g. `/board`. */
  basePath: string;
  /**
   * Whether bull-board shows its buttons and its API runs them through asyncq's admin (see
   * `board-actions.ts`): a task's retry, remove and promote, and a queue's retry all, promote all,
   * clean all, empty, pause and resume. Else it shows none and every change is refused.
   */
  actions: boolean;
  /** Where the asyncq page is, linked from bull-board's header. */
  homePath: string;
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

/**
 * bull-board's HTML without links to other sites (`<link href="https://...">`, its web font): the
 * page then uses system fonts. It links asyncq's stylesheet instead ({@link BOARD_STYLE}), which
 * hides the controls of the changes refused here.
 */
export function localPage(html: string): string {
  return html
    .replace(/<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?\/\/[^>]*>\s*/gi, '')
    .replace(/<\/head>/i, `<link href="${BOARD_STYLE_PATH}" rel="stylesheet"></head>`);
}

/**
 * bull-board over every asyncq queue: one BullMQ queue per partition (core's `QueueAdmin.bullmq()`,
 * which never writes queue meta), kept in step with the queues the monitor finds, each job naming
 * its worker by asyncq's worker id ({@link AsyncqBoardAdapter}). In front of bull-board's API sits a
 * guard: without `actions` bull-board is read-only (no buttons) and every change is refused with
 * 403; with it, the changes asyncq can make correctly run through asyncq's admin rather than
 * BullMQ's job methods (`runBoardChange`), so consumers wake and join and maxsize stay true, and
 * the rest (add, duplicate, edit, obliterate, concurrency...) are refused and their controls hidden.
 */
export class QueueBoard {
  /** The express app to mount at `basePath`. */
  readonly app: express.Router = express.Router();
  private readonly serverAdapter = new ExpressAdapter();
  private readonly board: ReturnType<typeof createBullBoard>;
  private byBullName = new Map<string, BoardPartition>();
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
    this.app.get(`/${BOARD_STYLE_PATH}`, (_req, res) => void res.type('text/css').set('Cache-Control', 'no-cache').send(BOARD_STYLE));
    this.app.use('/api', (req, res, next) => void this.guard(req, res, next).catch(next));
    this.app.use(this.serverAdapter.getRouter() as express.Router);
  }

  /** Shows exactly `queues` (partitions as queues of their own), reading them through `readers`. */
  async sync(queues: readonly FoundQueue[], readers: ReadonlyMap<string, QueueReader>): Promise<void> {
    const adapters: AsyncqBoardAdapter[] = [];
    const byBullName = new Map<string, BoardPartition>();
    for (const q of [...queues].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const reader = readers.get(q.name);
      if (!reader) continue;
      const parts = await reader.admin.bullmq();
      const names = this.names.get(reader) ?? new BoardWorkerNames(reader.registry);
      this.names.set(reader, names);
      parts.forEach((bull, partition) => {
        byBullName.set(bull.name, { reader, partition, partitions: parts.length });
        const options = {
          // Without actions bull-board draws no buttons. With them it draws all of its own, and
          // asyncq's stylesheet hides those whose changes are refused (board-style.ts).
          readOnlyMode: !this.opts.actions,
          allowRetries: true,
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

  /** Refuses changes unless allowed, and runs the allowed ones through asyncq. */
  private async guard(req: Request, res: Response, next: NextFunction): Promise<void> {
    const readRole = res.locals.role === 'read';
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') {
      boundPageSize(req);
      if (readRole && this.opts.actions) showReadOnly(res);
      return next();
    }
    if (!this.opts.actions || readRole) {
      res.status(403).json({ error: { key: 'ERRORS.FORBIDDEN' }, message: this.opts.actions ? READ_ROLE_MESSAGE : READ_ONLY_MESSAGE });
      return;
    }
    const parts = this.byBullName;
    const answer = await runBoardChange(req.method, req.path, (name) => parts.get(name), () => [...parts.values()]);
    if (answer.status === 204) res.status(204).end();
    else res.status(answer.status).json(answer.body);
  }
}

/** Every bull-board response gets {@link BOARD_CSP}; its HTML page is served without links to other sites. */
function localPages(_req: Request, res: Response, next: NextFunction): void {
  res.set('Content-Security-Policy', BOARD_CSP);
  const send = res.send.bind(res);
  res.send = (body?: unknown) => send(typeof body === 'string' && /^\s*<!doctype html/i.test(body) ? localPage(body) : body);
  next();
}

/**
 * A user of the read-only role sees bull-board as read-only (no buttons): its queue list, whence
 * its UI learns what it may offer, says so for every queue.
 */
function showReadOnly(res: Response): void {
  const json = res.json.bind(res);
  res.json = (body?: unknown) => {
    const queues = (body as { queues?: unknown } | undefined)?.queues;
    if (!Array.isArray(queues)) return json(body);
    return json({ ...(body as object), queues: queues.map((q: object) => ({ ...q, readOnlyMode: true, allowRetries: false, allowCompletedRetries: false })) });
  };
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
