import { partitionTags, queueKeys } from '@asyncq/core/internal';
import type { QueueDetail, QueueSummary } from './dashboard-types.js';
import type { FailureReport } from './failure-groups.js';
import { taskHref } from './task-view.js';
import { chartPoints, failureCells, groupCells, partitionCells, queueFields, queueRow, workerCells } from './queue-view.js';
import { workerHref } from './worker-view.js';

/** Text made safe inside HTML, attribute values included: every name, id and message from Redis goes through it. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What the page needs besides the queues. */
export interface PageOptions {
  /** The Redis key prefix shown in the title. */
  prefix: string;
  /** Whether this user may act (`--allow-actions`, and the admin role when roles are set): the page then shows its buttons. */
  actions: boolean;
  /** Where bull-board is, relative to the page: `board`. */
  boardPath: string;
  /** How many ms of throughput the chart spans. */
  windowMs: number;
  /** How often the page polls the API, ms. */
  intervalMs: number;
  /** Now, ms since the epoch (a parameter so tests render the same page twice). */
  now: number;
}

/** The chart's size in SVG units. */
export const CHART = { width: 600, height: 120 } as const;

const WORKER_HEAD = ['worker', 'running', 'state', 'current tasks', 'done', 'failed', 'heartbeat'];
const COUNT_STATES = ['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled'] as const;

/** The page around `body`: header with links, status line; `kind` tells the script what to poll. */
export function shell(kind: 'home' | 'queue' | 'failures' | 'worker' | 'workers' | 'task', title: string, body: string, opts: PageOptions, data: Record<string, string> = {}): string {
  const attrs = Object.entries({ page: kind, windowMs: String(opts.windowMs), intervalMs: String(opts.intervalMs), actions: String(opts.actions), ...data })
    .map(([k, v]) => ` data-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}="${escapeHtml(v)}"`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} — asyncq dashboard — ${escapeHtml(opts.prefix)}</title>
<link rel="stylesheet" href="assets/dashboard.css">
<script defer src="assets/dashboard.js"></script>
</head>
<body${attrs}>
<header class="top">
  <h1><a href="./">asyncq</a></h1>
  <span class="muted">prefix ${escapeHtml(opts.prefix)} · ${opts.actions ? 'actions allowed' : 'read-only'}</span>
  <a href="./">queues</a>
  <a href="failures">failures</a>
  <a href="${escapeHtml(opts.boardPath)}">tasks in bull-board →</a>
  <span id="status" class="muted" role="status">updated ${escapeHtml(new Date(opts.now).toISOString().slice(11, 19))} UTC</span>
</header>
<div id="notice" class="notice" role="alert" hidden></div>
<main>
${body}
</main>
</body>
</html>
`;
}

const HOME_HEAD = ['queue', 'state', 'depth', 'unfinished', 'failed', 'done/min', 'oldest waiting', 'workers'];

/**
 * The home page: one row per queue (depth, unfinished, failed, done per minute, oldest waiting,
 * workers, state), sortable by any column and filtered by name; each name links to the queue's own
 * page. Its script polls `api/queues` alone, one request whatever the number of queues.
 */
export function renderHome(queues: readonly QueueSummary[], opts: PageOptions): string {
  const rows = queues.map((q) => {
    const r = queueRow(q);
    const [name, ...rest] = r.cells;
    return `<tr data-queue="${escapeHtml(q.name)}" class="state-${escapeHtml(r.state.replace(/ /g, '-'))}"><td><a href="queue?name=${escapeHtml(encodeURIComponent(q.name))}">${escapeHtml(name)}</a></td>${rest.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
  });
  const body = `<section class="card">
<div class="tools"><input id="filter" type="search" placeholder="filter queues by name" aria-label="filter queues by name" autocomplete="off"> <span id="shown" class="muted">${queues.length.toLocaleString('en-US')} queue${queues.length === 1 ? '' : 's'}</span></div>
<table class="queues sortable"><thead><tr>${HOME_HEAD.map((h, i) => `<th><button type="button" data-sort="${i}">${h}</button></th>`).join('')}</tr></thead>
<tbody data-rows="queues">${rows.join('\n') || `<tr><td class="muted" colspan="8">No queues under prefix “${escapeHtml(opts.prefix)}” yet: they appear here once a task has been put.</td></tr>`}</tbody></table>
</section>`;
  return shell('home', 'queues', body, opts);
}

/**
 * A queue's own page (`queue?name=`): its join state, maxsize gate, shutdown and pause, workers
 * against the desired count, drain time, throughput chart, workers and, with actions, every
 * action the CLI has on it and its tasks. Its script keeps it current from `api/queue?name=`. No
 * inline script or style, so the page can be served with a strict Content-Security-Policy.
 */
export function renderPage(queues: readonly QueueDetail[], opts: PageOptions): string {
  const body =
    queues.length === 0
      ? `<p class="empty">No queues under prefix “${escapeHtml(opts.prefix)}” yet: they appear here once a task has been put.</p>`
      : queues.map((q) => renderQueue(q, opts) + renderControls(q, opts)).join('\n');
  return shell('queue', queues[0]?.name ?? 'queue', body, opts, { queue: queues[0]?.name ?? '' });
}

/** The queue's actions (with actions allowed) and its tasks by state, each with its own actions. */
function renderControls(q: QueueDetail, opts: PageOptions): string {
  const tasks = `<section class="card tasks"><h2>tasks</h2>
<div class="tools"><label>state <select id="task-state">${['failed', 'waiting', 'delayed', 'active', 'completed', 'cancelled'].map((s) => `<option>${s}</option>`).join('')}</select></label> <span class="muted">the newest 50</span></div>
<table class="task-list"><thead><tr><th>id</th><th>name</th><th>attempts</th><th>put</th><th>error</th>${opts.actions ? '<th>actions</th>' : ''}</tr></thead><tbody data-rows="tasks"></tbody></table></section>`;
  const history = `<section class="card history"><h2>history</h2>
<div class="tools"><label>range <select id="history-range"><option value="hour">last hour, per minute</option><option value="day">last 24 hours, per minute</option><option value="month">last 30 days, per hour</option></select></label> <span class="muted" data-f="history-sum"></span></div>
<div class="muted">tasks finished per <span data-f="history-unit">minute</span>: <span class="key done">— completed</span> <span class="key failed">— failed</span></div>
<svg id="history-counts" class="axes" viewBox="-64 -8 680 150" role="img" aria-label="completed and failed tasks per minute or hour"></svg>
<div class="muted">run time (started to finished) from a fixed-bucket histogram: <span class="key p50">— p50</span> <span class="key p95">— p95</span></div>
<svg id="history-times" class="axes" viewBox="-64 -8 680 150" role="img" aria-label="run time p50 and p95 per minute or hour"></svg>
</section>`;
  if (!opts.actions) return history + tasks;
  const failuresLink = `failures?name=${escapeHtml(encodeURIComponent(q.name))}`;
  return `<section class="card actions"><h2>actions</h2>
<div class="buttons">
<button type="button" data-action="retry-failed">retry all failed</button>
<button type="button" data-action="pause">pause</button>
<button type="button" data-action="resume">resume</button>
<button type="button" data-action="shutdown">shut down</button>
<button type="button" data-action="reopen">reopen</button>
<a href="${failuresLink}">failures by error →</a>
</div>
<div class="buttons">
<label>purge <select id="purge-states"><option value="waiting,delayed">waiting and delayed</option><option value="failed">failed</option><option value="completed">completed</option><option value="waiting,delayed,failed,completed">all four</option></select></label>
<button type="button" data-action="purge">purge</button>
<label>clean <select id="clean-state"><option>completed</option><option>failed</option><option>delayed</option><option>waiting</option></select></label>
<label>older than <input id="clean-minutes" type="number" min="0" value="60" size="6"> min</label>
<button type="button" data-action="clean">clean</button>
<label>workers <input id="scale-workers" type="number" min="0" value="${q.workers.desired ?? q.workers.live}" size="5"></label>
<button type="button" data-action="scale">scale</button>
</div></section>
${history}
${tasks}`;
}

/**
 * The failures page (`failures`, or `failures?name=` for one queue): failed tasks grouped by their
 * normalised error message, with count, first and last seen and example ids; with actions, each
 * group is retried or removed whole.
 */
export function renderFailures(report: FailureReport, queue: string | undefined, opts: PageOptions): string {
  const head = ['queue', 'count', 'error', 'first seen (UTC)', 'last seen (UTC)', 'example tasks', ...(opts.actions ? ['actions'] : [])];
  // The last cell, the example task ids, links each to its task's page.
  const examples = (g: FailureReport['groups'][number]): string => g.taskIds.map((id) => `<a href="${escapeHtml(taskHref(g.queue, id))}">${escapeHtml(id)}</a>`).join(', ');
  const rows = report.groups.map((g) => `<tr>${failureCells(g).slice(0, -1).map((c) => `<td>${escapeHtml(c)}</td>`).join('')}<td>${examples(g)}</td>${opts.actions ? '<td></td>' : ''}</tr>`);
  const scope = queue === undefined ? 'every queue' : `queue ${queue}`;
  const body = `<section class="card failures"><h2>failures of ${escapeHtml(scope)}, grouped by error</h2>
<p class="muted" data-f="read">${escapeHtml(readLine(report))}</p>
<table class="failure-groups"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead>
<tbody data-rows="failures">${rows.join('\n') || `<tr><td class="muted" colspan="${head.length}">no failed task</td></tr>`}</tbody></table></section>`;
  return shell('failures', `failures of ${scope}`, body, opts, queue === undefined ? {} : { queue });
}

/** What the failures page read: "412 failed tasks in 3 groups". */
export function readLine(r: FailureReport): string {
  return `${r.read.toLocaleString('en-US')} failed task${r.read === 1 ? '' : 's'} in ${r.groups.length} group${r.groups.length === 1 ? '' : 's'}${r.truncated ? ' (the newest 1,000 of each queue)' : ''}`;
}

/** One queue's card. */
export function renderQueue(q: QueueDetail, opts: PageOptions): string {
  const f = queueFields(q);
  const field = (name: string, cls = ''): string => `<span${cls ? ` class="${cls}"` : ''} data-f="${name}">${escapeHtml(f[name] ?? '')}</span>`;
  const tile = (title: string, main: string, ...lines: string[]): string =>
    `<div class="tile"><h3>${title}</h3><div class="big">${main}</div>${lines.map((l) => `<div>${l}</div>`).join('')}</div>`;
  // bull-board lists each partition as a queue of its own, by its BullMQ name: link the first.
  const bullName = queueKeys(opts.prefix, partitionTags(q.name, q.partitions)[0]!).bullName;
  const boardLink = `${opts.boardPath}/queue/${encodeURIComponent(bullName)}`;
  // The queue's own read time, as the page's script uses: no skew between the two renderings.
  const chart = chartPoints(q.throughput, q.at, opts.windowMs, CHART.width, CHART.height);
  return `<section class="queue" data-queue="${escapeHtml(q.name)}">
<header><h2>${escapeHtml(q.name)}</h2> ${field('flags', 'flags')} <a href="${escapeHtml(boardLink)}">tasks →</a></header>
<div class="tiles">
${tile('join', `${field('unfinished')} unfinished`, field('joiners'))}
${tile('maxsize gate', `${field('ready')} ready of ${field('maxsize')}`, field('gate'))}
${tile('state', field('shutdown'), field('delivery'))}
${tile('workers', `${field('live')} live, desired ${field('desired')}`, field('busy'), field('fleets'))}
${tile('drain time', field('drain'), field('rate'), field('oldest'))}
${tile('limits', field('limits'), field('binds'), field('groups'))}
</div>
<table class="counts"><thead><tr>${COUNT_STATES.map((s) => `<th>${s}</th>`).join('')}</tr></thead>
<tbody><tr>${COUNT_STATES.map((s) => `<td>${field(s)}</td>`).join('')}</tr></tbody></table>
${q.partitions > 1 ? renderPartitions(q) : ''}
${renderGroups(q)}
<div class="chart"><div class="muted">throughput over the last <span data-f="span">${chart.span}</span>: now ${field('done')} done/s · peak <span data-f="peak">${chart.peak.toFixed(1)}</span>/s · <span class="key done">— done/s</span> <span class="key failed">— failed/s</span></div>
<svg viewBox="0 0 ${CHART.width} ${CHART.height}" preserveAspectRatio="none" role="img" aria-label="tasks done and failed per second">
<polyline class="done" data-series="done" points="${chart.done}"/><polyline class="failed" data-series="failed" points="${chart.failed}"/>
</svg></div>
<div class="muted totals">${field('totals')}</div>
<table class="workers"><thead><tr>${WORKER_HEAD.map((h) => `<th>${h}</th>`).join('')}</tr></thead>
<tbody data-rows="workers" data-empty="no live worker">${rowsHtml(q.workerList.map((w) => workerCells(w, q.at)), 'no live worker', (i) => workerHref(q.name, q.workerList[i]!.id))}</tbody></table>
</section>`;
}

/** Per-partition counts of a partitioned queue. */
function renderPartitions(q: QueueDetail): string {
  const rows = rowsHtml(q.partitionCounts.map(partitionCells), '');
  return `<table class="partitions"><thead><tr><th>partition</th>${COUNT_STATES.map((s) => `<th>${s}</th>`).join('')}</tr></thead><tbody data-rows="partitions">${rows}</tbody></table>`;
}

/**
 * The largest groups (up to 20) and whether the per-group limit holds each back; hidden while the
 * queue has no group with tasks waiting (the page's script shows it once one has).
 */
function renderGroups(q: QueueDetail): string {
  return `<div class="groups" data-show="groups"${q.groups.length === 0 ? ' hidden' : ''}><div class="muted">largest groups, by tasks waiting</div>
<table class="groups"><thead><tr><th>group</th><th>waiting</th><th>held back</th></tr></thead><tbody data-rows="groups">${rowsHtml(q.groups.map(groupCells), '')}</tbody></table></div>`;
}

/** Table rows of escaped cells, each row's first cell linked to `link(row)` when given; one row saying `empty` when there are none. */
function rowsHtml(rows: string[][], empty: string, link?: (row: number) => string): string {
  if (rows.length === 0) return empty ? `<tr><td class="muted" colspan="7">${escapeHtml(empty)}</td></tr>` : '';
  const cell = (c: string, row: number, col: number): string => (col === 0 && link ? `<a href="${escapeHtml(link(row))}">${escapeHtml(c)}</a>` : escapeHtml(c));
  return rows.map((cells, row) => `<tr>${cells.map((c, col) => `<td>${cell(c, row, col)}</td>`).join('')}</tr>`).join('');
}
