import { listSummary, workerHref, workerListCells, workerView } from './worker-view.js';

/**
 * The worker pages' part of the asyncq page's script (`pageScript` in page-assets.ts puts it before
 * its dispatcher, after the helpers it uses: getJson, fillRows, every, setText, updated, stale, q,
 * body). The worker page polls `api/worker?queue=&id=`, the list `api/workers?queue=`;
 * `linkWorkerIds` links each worker on the queue page to its own page. It starts the worker pages
 * itself. Text from Redis reaches the page as textContent only.
 */
export function workerScript(): string {
  return `// ---- worker pages: one worker, and a queue's list of workers
const workerHref = ${workerHref.toString()};
const workerView = ${workerView.toString()};
const workerListCells = ${workerListCells.toString()};
const listSummary = ${listSummary.toString()};

// Each row's first cell, the worker's id, becomes a link to its page (rows are in workers' order).
function linkWorkerIds(tbody, queue, workers) {
  if (!tbody || workers.length === 0) return;
  tbody.querySelectorAll('tr').forEach((tr, i) => {
    const td = tr.firstElementChild;
    if (!workers[i] || !td) return;
    const a = document.createElement('a');
    a.href = workerHref(queue, workers[i].id);
    a.textContent = td.textContent;
    td.replaceChildren(a);
  });
}

function workerPage() {
  const section = document.querySelector('section[data-worker]');
  if (!section) return;
  // A gone worker is a 404 that says so: the page turns to its one line, not an error.
  const read = async () => {
    const res = await fetch('api/worker?queue=' + q(body.queue) + '&id=' + q(body.worker), { headers: { accept: 'application/json' }, cache: 'no-store' });
    const data = await res.json().catch(() => ({}));
    if (!res.ok && data.state !== 'gone') throw new Error(data.error || 'HTTP ' + res.status);
    return data;
  };
  const refresh = async () => {
    const v = await read();
    const { fields, tasks } = workerView(v);
    for (const el of section.querySelectorAll('[data-f]')) {
      const text = fields[el.dataset.f];
      if (text !== undefined) setText(el, text);
    }
    fillRows(section.querySelector('[data-rows="worker-tasks"]'), tasks);
    // Only a live worker's figures show: a stale one shows who it was, a gone one its line alone.
    section.dataset.state = v.state;
    section.querySelector('[data-f="state"]').className = 'state-' + v.state;
    section.querySelector('[data-show="who"]').hidden = v.state === 'gone';
    section.querySelector('[data-show="figures"]').hidden = v.state !== 'live';
  };
  refresh().then(updated, stale);
  every(refresh);
}

function workersPage() {
  const tbody = document.querySelector('[data-rows="worker-list"]');
  if (!tbody) return;
  const refresh = async () => {
    const list = await getJson('api/workers?queue=' + q(body.queue));
    setText(document.querySelector('[data-f="summary"]'), listSummary(list));
    const state = (w) => (w.stale ? 'stale' : 'live');
    fillRows(tbody, list.workers.map((w) => workerListCells(workerView({ queue: list.queue, id: w.id, at: list.at, state: state(w), worker: w }).fields)));
    linkWorkerIds(tbody, list.queue, list.workers);
  };
  refresh().then(updated, stale);
  every(refresh);
}

if (body.page === 'worker') workerPage();
else if (body.page === 'workers') workersPage();
`;
}
