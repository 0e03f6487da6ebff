import { CHART } from './page-render.js';
import { chartPoints, failureCells, partitionCells, queueFields, queueRow, workerCells } from './queue-view.js';

/**
 * The asyncq page's script, for its three kinds of page (`data-page` on the body):
 * - home: polls `api/queues` (one request whatever the number of queues) and redraws the table,
 *   sorted and filtered as the user chose;
 * - queue: polls `api/queue?name=` and updates the page in place; lists the queue's tasks; runs
 *   the action buttons;
 * - failures: reads `api/failures` and retries or removes a whole group.
 * Every action that removes or changes many tasks asks first, naming the count. Text from Redis
 * only ever reaches the page as textContent, never as HTML. The view functions are the very ones
 * the server renders with, given to the browser as source.
 */
export function pageScript(): string {
  return `'use strict';
const queueFields = ${queueFields.toString()};
const workerCells = ${workerCells.toString()};
const partitionCells = ${partitionCells.toString()};
const chartPoints = ${chartPoints.toString()};
const queueRow = ${queueRow.toString()};
const failureCells = ${failureCells.toString()};
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

// ---- home: the table of every queue
function home() {
  const tbody = document.querySelector('[data-rows="queues"]');
  const filter = document.getElementById('filter');
  const shown = document.getElementById('shown');
  let summaries = null;
  let sortBy = 0, descending = false;
  const draw = () => {
    if (!summaries) return;
    const needle = filter.value.trim().toLowerCase();
    const rows = summaries.map((s) => ({ s, r: queueRow(s) })).filter((x) => x.s.name.toLowerCase().includes(needle));
    rows.sort((a, b) => {
      const x = a.r.keys[sortBy], y = b.r.keys[sortBy];
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
      return (descending ? -c : c) || (a.s.name < b.s.name ? -1 : 1);
    });
    tbody.replaceChildren(...rows.map(({ s, r }) => {
      const tr = cellRow(r.cells);
      tr.dataset.queue = s.name;
      tr.className = 'state-' + r.state.replace(/ /g, '-');
      const a = document.createElement('a');
      a.href = 'queue?name=' + q(s.name);
      a.textContent = s.name;
      tr.firstChild.replaceChildren(a);
      return tr;
    }));
    if (rows.length === 0) tbody.replaceChildren(cellRow([summaries.length === 0 ? 'no queue yet' : 'no queue matches the filter'], 'muted'));
    setText(shown, needle ? rows.length + ' of ' + plural(summaries.length, 'queue') : plural(summaries.length, 'queue'));
  };
  for (const b of document.querySelectorAll('button[data-sort]')) {
    b.addEventListener('click', () => {
      const i = Number(b.dataset.sort);
      descending = sortBy === i ? !descending : i >= 2;
      sortBy = i;
      for (const o of document.querySelectorAll('button[data-sort]')) o.removeAttribute('aria-sort');
      b.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      draw();
    });
  }
  filter.addEventListener('input', draw);
  const poll = async () => {
    summaries = (await getJson('api/queues')).queues;
    draw();
  };
  poll().then(updated, stale);
  every(poll);
}

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
    fillRows(section.querySelector('[data-rows="partitions"]'), d.partitionCounts.map(partitionCells));
  };
  // The name goes in the query, never as a path segment: the browser would resolve a queue named
  // "." or ".." (or "%2e") away, as it does any dot segment of a URL.
  const refresh = async () => update(await getJson('api/queue?name=' + q(name)));

  const stateSelect = document.getElementById('task-state');
  const tasksBody = document.querySelector('[data-rows="tasks"]');
  const listTasks = async () => {
    if (!stateSelect) return;
    const state = stateSelect.value;
    const { tasks } = await getJson('api/queue/tasks?name=' + q(name) + '&state=' + q(state));
    tasksBody.replaceChildren(...tasks.map((t) => {
      const tr = cellRow([t.id, t.name, String(t.attemptsMade), new Date(t.timestamp).toISOString().slice(0, 19).replace('T', ' '), t.error]);
      tr.dataset.task = t.id;
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
  refresh().then(updated, stale);
  every(refresh);
}

// ---- failures: failed tasks grouped by error
function failuresPage() {
  const scope = body.queue;
  const tbody = document.querySelector('[data-rows="failures"]');
  const read = document.querySelector('[data-f="read"]');
  const load = async () => {
    const r = await getJson('api/failures' + (scope === undefined ? '' : '?name=' + q(scope)));
    setText(read, r.read.toLocaleString('en-US') + ' failed task' + (r.read === 1 ? '' : 's') + ' in ' + r.groups.length + ' group' + (r.groups.length === 1 ? '' : 's') + (r.truncated ? ' (the newest 1,000 of each queue)' : ''));
    tbody.replaceChildren(...r.groups.map((g) => {
      const tr = cellRow(failureCells(g));
      tr.title = g.example;
      if (canAct) {
        const td = document.createElement('td');
        for (const a of ['retry', 'remove']) {
          const ask = (a === 'retry' ? 'Retry ' : 'Remove ') + plural(g.count, 'failed task') + ' of ' + g.queue + ' with the error "' + g.key + '"?' + (a === 'remove' ? ' This cannot be undone.' : '');
          td.appendChild(button(a + ' ' + n(g.count), async () => {
            if (await act('api/failures/' + a + '?name=' + q(g.queue), { group: g.key }, ask)) await load();
          }));
        }
        tr.appendChild(td);
      }
      return tr;
    }));
    if (r.groups.length === 0) tbody.replaceChildren(cellRow(['no failed task'], 'muted'));
  };
  load().then(updated, stale);
  every(load);
}

if (body.page === 'home') home();
else if (body.page === 'queue') queuePage();
else if (body.page === 'failures') failuresPage();
`;
}
