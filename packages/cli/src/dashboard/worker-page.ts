import type { WorkerList, WorkerView } from './dashboard-types.js';
import { escapeHtml, shell, type PageOptions } from './page-render.js';
import { listSummary, workerHref, workerListCells, workerView } from './worker-view.js';

/** The columns of a queue's list of workers, as `asyncq workers` prints them. */
const LIST_HEAD = ['worker', 'host', 'pid', 'version', 'started', 'concurrency', 'running', 'done', 'failed', 'heartbeat'];

/** Links to the worker's queue and to the queue's list of workers. */
function queueLinks(queue: string): string {
  const q = escapeHtml(encodeURIComponent(queue));
  return `<a href="queue?name=${q}">queue ${escapeHtml(queue)}</a> <a href="workers?queue=${q}">its workers</a>`;
}

/**
 * A worker's page (`worker?queue=&id=`), like Sidekiq's Busy page for one process: who it is (host,
 * pid, version, start), its load (concurrency, slots busy), the tasks it runs now and its counters,
 * under one line saying whether it is live, stale or gone. A stale worker shows who it was, a gone
 * one that line alone: neither shows figures. Its script keeps it current from `api/worker`.
 */
export function renderWorker(v: WorkerView, opts: PageOptions): string {
  const { fields, tasks } = workerView(v);
  const f = (name: string): string => `<span data-f="${name}">${escapeHtml(fields[name] ?? '')}</span>`;
  const fact = (label: string, value: string): string => `<tr><th>${label}</th><td>${value}</td></tr>`;
  const taskRows = tasks.map((cells) => `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  const body = `<section class="card worker" data-worker="${escapeHtml(v.id)}" data-state="${v.state}">
<header class="tools"><h2>worker ${escapeHtml(v.id)}</h2> ${queueLinks(v.queue)}</header>
<p class="state-${v.state}" data-f="state">${escapeHtml(fields.state ?? '')}</p>
<table class="facts" data-show="who"${v.state === 'gone' ? ' hidden' : ''}><tbody>
${fact('host', f('host'))}
${fact('pid', f('pid'))}
${fact('version', f('version'))}
${fact('started', `${f('started')} · ${f('uptime')}`)}
</tbody></table>
<div data-show="figures"${v.state === 'live' ? '' : ' hidden'}>
<table class="facts"><tbody>
${fact('concurrency', f('concurrency'))}
${fact('busy', f('busy'))}
${fact('done', f('done'))}
${fact('failed', f('failed'))}
${fact('heartbeat', f('heartbeat'))}
</tbody></table>
<h3>tasks it runs now</h3>
<table class="worker-tasks"><thead><tr><th>id</th><th>name</th><th>started</th><th>running for</th></tr></thead>
<tbody data-rows="worker-tasks" data-empty="no task running">${taskRows || '<tr><td class="muted" colspan="4">no task running</td></tr>'}</tbody></table>
<div class="muted">${f('unlisted')}</div>
</div>
</section>`;
  return shell('worker', `worker ${v.id}`, body, opts, { queue: v.queue, worker: v.id });
}

/** A queue's live workers (`workers?queue=`), one row each as `asyncq workers` prints them, each id linked to its page. */
export function renderWorkers(list: WorkerList, opts: PageOptions): string {
  const rows = list.workers.map((w) => {
    const cells = workerListCells(workerView({ queue: list.queue, id: w.id, at: list.at, state: w.stale ? 'stale' : 'live', worker: w }).fields);
    const [id, ...rest] = cells;
    return `<tr><td><a href="${escapeHtml(workerHref(list.queue, w.id))}">${escapeHtml(id)}</a></td>${rest.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
  });
  const body = `<section class="card workers-list">
<header class="tools"><h2>workers of ${escapeHtml(list.queue)}</h2> ${queueLinks(list.queue)}</header>
<p class="muted" data-f="summary">${escapeHtml(listSummary(list))}</p>
<table class="workers"><thead><tr>${LIST_HEAD.map((h) => `<th>${h}</th>`).join('')}</tr></thead>
<tbody data-rows="worker-list" data-empty="no live worker">${rows.join('\n') || `<tr><td class="muted" colspan="${LIST_HEAD.length}">no live worker</td></tr>`}</tbody></table>
</section>`;
  return shell('workers', `workers of ${list.queue}`, body, opts, { queue: list.queue });
}
