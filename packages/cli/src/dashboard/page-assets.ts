import { CHART } from './page-render.js';
import { chartPoints, partitionCells, queueFields, workerCells } from './queue-view.js';

/**
 * The asyncq page's script: every interval it polls `api/queues` (reloading the page when queues
 * appear or vanish) and each queue's `api/queue?name=`, and updates the page in place. Text from
 * Redis only ever reaches the page as textContent, never as HTML. The view functions are the very
 * ones the server renders with, given to the browser as source.
 */
export function pageScript(): string {
  return `'use strict';
const queueFields = ${queueFields.toString()};
const workerCells = ${workerCells.toString()};
const partitionCells = ${partitionCells.toString()};
const chartPoints = ${chartPoints.toString()};
const WIDTH = ${CHART.width}, HEIGHT = ${CHART.height};
const windowMs = Number(document.body.dataset.windowMs) || 300000;
const intervalMs = Math.max(500, Number(document.body.dataset.intervalMs) || 2000);
const statusEl = document.getElementById('status');
const sections = () => [...document.querySelectorAll('section[data-queue]')];
const setText = (el, text) => { if (el && el.textContent !== text) el.textContent = text; };

function fillRows(tbody, rows) {
  if (!tbody) return;
  const row = (cells, cls) => {
    const tr = document.createElement('tr');
    for (const cell of cells) {
      const td = document.createElement('td');
      td.textContent = cell;
      if (cls) {
        td.className = cls;
        td.colSpan = 7;
      }
      tr.appendChild(td);
    }
    return tr;
  };
  const empty = tbody.dataset.empty;
  tbody.replaceChildren(...(rows.length === 0 && empty ? [row([empty], 'muted')] : rows.map((cells) => row(cells))));
}

function update(section, d) {
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
}

async function getJson(url) {
  const res = await fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || 'HTTP ' + res.status);
  return body;
}

async function poll() {
  try {
    const list = await getJson('api/queues');
    const names = list.queues.map((q) => q.name);
    const shown = sections().map((s) => s.dataset.queue);
    if (names.length !== shown.length || names.some((n, i) => n !== shown[i])) {
      location.reload();
      return;
    }
    // The name goes in the query, never as a path segment: the browser would resolve a queue named
    // "." or ".." (or "%2e") away, as it does any dot segment of a URL.
    const details = await Promise.all(names.map((n) => getJson('api/queue?name=' + encodeURIComponent(n))));
    sections().forEach((s, i) => update(s, details[i]));
    setText(statusEl, 'updated ' + new Date().toISOString().slice(11, 19) + ' UTC');
    statusEl.classList.remove('stale');
  } catch (e) {
    setText(statusEl, 'not updated: ' + (e && e.message ? e.message : e));
    statusEl.classList.add('stale');
  } finally {
    setTimeout(poll, intervalMs);
  }
}
setTimeout(poll, intervalMs);
`;
}

/** The asyncq page's stylesheet: system fonts only, nothing fetched from elsewhere. */
export const PAGE_STYLE = `
:root { color-scheme: light dark; --fg: #1d232b; --muted: #667085; --bg: #f6f7f9; --card: #fff; --line: #d9dde3; --done: #2f855a; --failed: #c53030; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ee; --muted: #98a2b3; --bg: #12161c; --card: #1b2129; --line: #2c3440; --done: #48bb78; --failed: #fc8181; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; gap: 1.2em; align-items: baseline; padding: .8em 1.5em; background: var(--card); border-bottom: 1px solid var(--line); }
header.top h1 { margin: 0; font-size: 1.3em; }
main { padding: 1em 1.5em; display: grid; gap: 1.2em; }
a { color: inherit; }
.muted { color: var(--muted); }
#status.stale { color: var(--failed); }
section.queue { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1em 1.2em; }
section.queue > header { display: flex; gap: 1em; align-items: baseline; }
section.queue h2 { margin: 0 0 .4em; font-size: 1.15em; word-break: break-all; }
.flags { color: var(--failed); font-weight: 600; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: .8em; margin: .6em 0; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: .5em .7em; }
.tile h3 { margin: 0; font-size: .75em; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
.tile .big { font-size: 1.15em; font-weight: 600; margin: .2em 0; }
table { border-collapse: collapse; margin: .6em 0; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .2em .9em .2em 0; border-bottom: 1px solid var(--line); }
th { font-weight: 500; color: var(--muted); font-size: .85em; }
table.workers td:nth-child(4) { max-width: 40em; overflow-wrap: anywhere; }
.chart svg { width: 100%; height: 120px; border: 1px solid var(--line); border-radius: 6px; }
polyline { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
polyline.done { stroke: var(--done); }
polyline.failed { stroke: var(--failed); }
.key.done { color: var(--done); }
.key.failed { color: var(--failed); }
.totals { font-size: .85em; }
.empty { color: var(--muted); }
`;
