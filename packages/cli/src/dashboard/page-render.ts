import { partitionTags, queueKeys } from '@asyncq/core/internal';
import type { QueueDetail } from './dashboard-types.js';
import { chartPoints, partitionCells, queueFields, workerCells } from './queue-view.js';

/** Text made safe inside HTML, attribute values included: every name, id and message from Redis goes through it. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What the page needs besides the queues. */
export interface PageOptions {
  /** The Redis key prefix shown in the title. */
  prefix: string;
  /** Whether actions are allowed (shown, so a user knows what bull-board will let them do). */
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

/**
 * The asyncq page, whole: every queue's join state, maxsize gate, shutdown and pause, workers
 * against the desired count, drain time and throughput chart. Its script (`assets/dashboard.js`)
 * then keeps it current from the JSON API; its style is `assets/dashboard.css`. No inline script
 * or style, so the page can be served with a strict Content-Security-Policy.
 */
export function renderPage(queues: readonly QueueDetail[], opts: PageOptions): string {
  const body =
    queues.length === 0
      ? `<p class="empty">No queues under prefix “${escapeHtml(opts.prefix)}” yet: they appear here once a task has been put.</p>`
      : queues.map((q) => renderQueue(q, opts)).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>asyncq dashboard — ${escapeHtml(opts.prefix)}</title>
<link rel="stylesheet" href="assets/dashboard.css">
<script defer src="assets/dashboard.js"></script>
</head>
<body data-window-ms="${opts.windowMs}" data-interval-ms="${opts.intervalMs}">
<header class="top">
  <h1>asyncq</h1>
  <span class="muted">prefix ${escapeHtml(opts.prefix)} · ${opts.actions ? 'actions allowed' : 'read-only'}</span>
  <a href="${escapeHtml(opts.boardPath)}">tasks in bull-board →</a>
  <span id="status" class="muted">updated ${escapeHtml(new Date(opts.now).toISOString().slice(11, 19))} UTC</span>
</header>
<main>
${body}
</main>
</body>
</html>
`;
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
</div>
<table class="counts"><thead><tr>${COUNT_STATES.map((s) => `<th>${s}</th>`).join('')}</tr></thead>
<tbody><tr>${COUNT_STATES.map((s) => `<td>${field(s)}</td>`).join('')}</tr></tbody></table>
${q.partitions > 1 ? renderPartitions(q) : ''}
<div class="chart"><div class="muted">throughput over the last <span data-f="span">${chart.span}</span>: now ${field('done')} done/s · peak <span data-f="peak">${chart.peak.toFixed(1)}</span>/s · <span class="key done">— done/s</span> <span class="key failed">— failed/s</span></div>
<svg viewBox="0 0 ${CHART.width} ${CHART.height}" preserveAspectRatio="none" role="img" aria-label="tasks done and failed per second">
<polyline class="done" data-series="done" points="${chart.done}"/><polyline class="failed" data-series="failed" points="${chart.failed}"/>
</svg></div>
<div class="muted totals">${field('totals')}</div>
<table class="workers"><thead><tr>${WORKER_HEAD.map((h) => `<th>${h}</th>`).join('')}</tr></thead>
<tbody data-rows="workers" data-empty="no live worker">${rowsHtml(q.workerList.map((w) => workerCells(w, q.at)), 'no live worker')}</tbody></table>
</section>`;
}

/** Per-partition counts of a partitioned queue. */
function renderPartitions(q: QueueDetail): string {
  const rows = rowsHtml(q.partitionCounts.map(partitionCells), '');
  return `<table class="partitions"><thead><tr><th>partition</th>${COUNT_STATES.map((s) => `<th>${s}</th>`).join('')}</tr></thead><tbody data-rows="partitions">${rows}</tbody></table>`;
}

/** Table rows of escaped cells; one row saying `empty` when there are none. */
function rowsHtml(rows: string[][], empty: string): string {
  if (rows.length === 0) return empty ? `<tr><td class="muted" colspan="7">${escapeHtml(empty)}</td></tr>` : '';
  return rows.map((cells) => `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
}
