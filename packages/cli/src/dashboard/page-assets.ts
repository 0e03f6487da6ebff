import { CHART } from './page-render.js';
import { historyLayout } from './history-chart.js';
import { FAILURES_SCRIPT, HOME_SCRIPT } from './page-script-parts.js';
import { taskLinkScript } from './task-view.js';
import { chartPoints, failureCells, groupCells, partitionCells, queueFields, queueRow, workerCells } from './queue-view.js';
import { workerScript } from './worker-script.js';

/**
 * The asyncq page's script, for its three kinds of page (`data-page` on the body):
 * - home: polls `api/queues` (one request whatever the number of queues) and redraws the table,
 *   sorted and filtered as the user chose;
 * - queue: polls `api/queue?name=` and updates the page in place; lists the queue's tasks; runs
 *   the action buttons;
 * - failures: reads `api/failures` and retries or removes a whole group.
 * - worker, workers: one worker and a queue's workers (worker-script.ts, which also links each
 *   worker on the queue page to its own page).
 * Every action that removes or changes many tasks asks first, naming the count. Text from Redis
 * only ever reaches the page as textContent, never as HTML. The view functions are the very ones
 * the server renders with, given to the browser as source.
 */
export function pageScript(): string {
  return `'use strict';
const queueFields = ${queueFields.toString()};
const workerCells = ${workerCells.toString()};
const partitionCells = ${partitionCells.toString()};
const groupCells = ${groupCells.toString()};
const chartPoints = ${chartPoints.toString()};
const queueRow = ${queueRow.toString()};
const failureCells = ${failureCells.toString()};
const historyLayout = ${historyLayout.toString()};
const WIDTH = ${CHART.width}, HEIGHT = ${CHART.height};
const body = document.body.dataset;
const windowMs = Number(body.windowMs) || 300000;
const intervalMs = Math.max(500, Number(body.intervalMs) || 2000);
const canAct = body.actions === 'true';
const statusEl = document.getElementById('status');
const noticeEl = document.getElementById('notice');
const setText = (el, text) => { if (el && el.textContent !== text) el.textContent = text; };
const n = (x) => Number(x).toLocaleString('en-US');
const plural = (k, what) => n(k) + ' ' + what + (k === 1 ? '' : 's');

function cellRow(cells, cls) {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    td.textContent = cell;
    if (cls) {
      td.className = cls;
      td.colSpan = 9;
    }
    tr.appendChild(td);
  }
  return tr;
}

function fillRows(tbody, rows) {
  if (!tbody) return;
  const empty = tbody.dataset.empty;
  tbody.replaceChildren(...(rows.length === 0 && empty ? [cellRow([empty], 'muted')] : rows.map((cells) => cellRow(cells))));
}

function button(label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

async function getJson(url) {
  const res = await fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || 'HTTP ' + res.status);
  return data;
}

function notice(text, bad) {
  noticeEl.textContent = text;
  noticeEl.className = bad ? 'notice bad' : 'notice';
  noticeEl.hidden = false;
}

// A change is a PUT from this page: the browser sends its Origin, which the server checks.
async function act(url, payload, question) {
  if (question && !window.confirm(question)) return false;
  try {
    const res = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(payload || {}) });
    const data = await res.json().catch(() => ({}));
    notice(res.ok ? data.message || 'done' : data.error || 'HTTP ' + res.status, !res.ok);
    return res.ok;
  } catch (e) {
    notice('not sent: ' + (e && e.message ? e.message : e), true);
    return false;
  }
}

function updated() {
  setText(statusEl, 'updated ' + new Date().toISOString().slice(11, 19) + ' UTC');
  statusEl.classList.remove('stale');
}

function stale(e) {
  setText(statusEl, 'not updated: ' + (e && e.message ? e.message : e));
  statusEl.classList.add('stale');
}

function every(fn) {
  const loop = async () => {
    try {
      await fn();
      updated();
    } catch (e) {
      stale(e);
    } finally {
      setTimeout(loop, intervalMs);
    }
  };
  setTimeout(loop, intervalMs);
}

const q = (name) => encodeURIComponent(name);
${taskLinkScript()}
${HOME_SCRIPT}
// ---- queue: one queue's page
function queuePage() {
  const name = body.queue;
  const section = document.querySelector('section[data-queue]');
  if (!section) return;
  let last = null;
  const update = (d) => {
    last = d;
    const f = queueFields(d);
    for (const el of section.querySelectorAll('[data-f]')) {
      const text = f[el.dataset.f];
      if (text !== undefined) setText(el, text);
    }
    const chart = chartPoints(d.throughput, d.at, windowMs, WIDTH, HEIGHT);
    section.querySelector('polyline[data-series="done"]').setAttribute('points', chart.done);
    section.querySelector('polyline[data-series="failed"]').setAttribute('points', chart.failed);
    setText(section.querySelector('[data-f="peak"]'), chart.peak.toFixed(1));
    setText(section.querySelector('[data-f="span"]'), chart.span);
    fillRows(section.querySelector('[data-rows="workers"]'), d.workerList.map((w) => workerCells(w, d.at)));
    linkWorkerIds(section.querySelector('[data-rows="workers"]'), name, d.workerList);
    fillRows(section.querySelector('[data-rows="partitions"]'), d.partitionCounts.map(partitionCells));
    fillRows(section.querySelector('[data-rows="groups"]'), d.groups.map(groupCells));
    section.querySelector('[data-show="groups"]').hidden = d.groups.length === 0;
  };
  // The name goes in the query, never as a path segment: the browser would resolve a queue named
  // "." or ".." (or "%2e") away, as it does any dot segment of a URL.
  const refresh = async () => update(await getJson('api/queue?name=' + q(name)));

  const stateSelect = document.getElementById('task-state');
  const tasksBody = document.querySelector('[data-rows="tasks"]');
  // Lists can overlap (a state picked while an action's list is on its way): only the newest asked
  // for is drawn, or a slow older answer would draw the old state's tasks under the new choice.
  let listAsked = 0;
  const listTasks = async () => {
    if (!stateSelect) return;
    const asked = ++listAsked;
    const state = stateSelect.value;
    const { tasks } = await getJson('api/queue/tasks?name=' + q(name) + '&state=' + q(state));
    if (asked !== listAsked) return;
    tasksBody.replaceChildren(...tasks.map((t) => {
      const tr = cellRow([t.id, t.name, String(t.attemptsMade), new Date(t.timestamp).toISOString().slice(0, 19).replace('T', ' '), t.error]);
      tr.dataset.task = t.id;
      tr.firstChild.replaceChildren(taskLink(name, t.id));
      if (canAct) {
        const td = document.createElement('td');
        const can = { retry: ['failed', 'completed', 'cancelled'], remove: ['failed', 'completed', 'waiting', 'delayed', 'cancelled'], promote: ['delayed'], cancel: ['waiting', 'delayed', 'active'] };
        for (const a of ['retry', 'remove', 'promote', 'cancel']) {
          if (!can[a].includes(state)) continue;
          const ask = a === 'remove' || a === 'cancel' ? a + ' task ' + t.id + ' (' + t.name + ') of ' + name + '? This cannot be undone.' : '';
          td.appendChild(button(a, async () => {
            if (await act('api/queue/tasks/' + a + '?name=' + q(name) + '&id=' + q(t.id), {}, ask)) await Promise.all([listTasks(), refresh()]);
          }));
        }
        tr.appendChild(td);
      }
      return tr;
    }));
    if (tasks.length === 0) tasksBody.replaceChildren(cellRow(['no ' + state + ' task'], 'muted'));
  };
  if (stateSelect) {
    stateSelect.addEventListener('change', () => void listTasks().catch(stale));
    listTasks().catch(stale);
  }

  const value = (id) => document.getElementById(id).value;
  const questions = {
    'retry-failed': (c) => c.failed === 0 ? null : 'Retry all ' + plural(c.failed, 'failed task') + ' of ' + name + '?',
    pause: () => '',
    resume: () => '',
    reopen: () => '',
    shutdown: (c) => 'Shut down ' + name + '? Puts fail until it is reopened; ' + plural(c.unfinished, 'unfinished task') + ' still run.',
    purge: (c) => {
      const states = value('purge-states').split(',');
      const k = states.reduce((a, s) => a + (c[s] || 0), 0);
      return 'Remove ' + plural(k, 'task') + ' (' + states.join(', ') + ') of ' + name + '? This cannot be undone.';
    },
    clean: (c) => {
      const s = value('clean-state');
      return 'Remove the ' + s + ' tasks of ' + name + ' older than ' + value('clean-minutes') + ' min (of ' + plural(c[s] || 0, s + ' task') + ' now)? This cannot be undone.';
    },
    scale: () => '',
  };
  const params = {
    purge: () => ({ states: value('purge-states').split(',') }),
    clean: () => ({ state: value('clean-state'), olderThanMs: Math.round(Number(value('clean-minutes')) * 60000) }),
    scale: () => ({ workers: Number(value('scale-workers')) }),
  };
  for (const b of document.querySelectorAll('button[data-action]')) {
    b.addEventListener('click', async () => {
      const a = b.dataset.action;
      const c = last ? last.counts : { failed: 0, unfinished: 0 };
      const ask = questions[a](c);
      if (ask === null) return notice(name + ': no failed task to retry', false);
      if (await act('api/queue/actions/' + a + '?name=' + q(name), params[a] ? params[a]() : {}, ask)) await Promise.all([refresh(), listTasks()]);
    });
  }
  // History: drawn with axes from the rollups in Redis, read again every 30 s.
  const rangeSelect = document.getElementById('history-range');
  const svgNs = 'http://www.w3.org/2000/svg';
  const draw = (svg, points, series, unit) => {
    const el = (tag, attrs, text) => {
      const e = document.createElementNS(svgNs, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
      if (text !== undefined) e.textContent = text;
      return e;
    };
    const L = historyLayout(points, series, unit, 600, 120);
    const parts = [el('line', { x1: 0, y1: 120, x2: 600, y2: 120, class: 'axis' }), el('line', { x1: 0, y1: 0, x2: 0, y2: 120, class: 'axis' })];
    for (const t of L.yTicks) parts.push(el('line', { x1: 0, y1: t.at, x2: 600, y2: t.at, class: 'grid' }), el('text', { x: -6, y: t.at + 4, 'text-anchor': 'end', class: 'tick' }, t.label));
    for (const t of L.xTicks) parts.push(el('line', { x1: t.at, y1: 120, x2: t.at, y2: 124, class: 'axis' }), el('text', { x: t.at, y: 138, 'text-anchor': 'middle', class: 'tick' }, t.label));
    for (const s of series) parts.push(el('polyline', { points: L.lines[s], class: s, 'data-series': s }));
    svg.replaceChildren(...parts);
  };
  const history = async () => {
    if (!rangeSelect) return;
    const h = await getJson('api/queue/history?name=' + q(name) + '&range=' + q(rangeSelect.value));
    draw(document.getElementById('history-counts'), h.points, ['completed', 'failed'], '');
    draw(document.getElementById('history-times'), h.points, ['p50', 'p95'], 'ms');
    const sum = (f) => h.points.reduce((a, p) => a + p[f], 0);
    setText(document.querySelector('[data-f="history-unit"]'), h.unit);
    setText(document.querySelector('[data-f="history-sum"]'), n(sum('completed')) + ' completed, ' + n(sum('failed')) + ' failed in this range (UTC)');
  };
  if (rangeSelect) {
    rangeSelect.addEventListener('change', () => void history().catch(stale));
    history().catch(stale);
    setInterval(() => void history().catch(stale), 30000);
  }
  refresh().then(updated, stale);
  every(refresh);
}

${FAILURES_SCRIPT}
${workerScript()}
if (body.page === 'home') home();
else if (body.page === 'queue') queuePage();
else if (body.page === 'failures') failuresPage();
`;
}
