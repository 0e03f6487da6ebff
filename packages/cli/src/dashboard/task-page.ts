import type { TaskWithRuns, WorkerRun } from '../queues/task-runs.js';
import { jsonOrNote } from '../terminal-text.js';
import { escapeHtml, shell, type PageOptions } from './page-render.js';

/** A time on the task page: UTC, to the millisecond (attempts often last a few). */
const utc = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');

/** A header cell and a cell of HTML: `html` is escaped by the caller. */
const fact = (label: string, html: string): string => `<tr><th>${label}</th><td>${html}</td></tr>`;

/** Lines in a `<pre>`, escaped; `empty` (muted) when there are none. */
const lines = (cls: string, text: readonly string[], empty: string): string =>
  text.length === 0 ? `<p class="muted">${empty}</p>` : `<pre class="${cls}">${escapeHtml(text.join('\n'))}</pre>`;

/**
 * A task's page (`task?queue=&id=`), as `asyncq inspect --id` prints it: its state, attempts,
 * times, data, result and error, then one section per attempt, oldest first, with its start, end,
 * duration, worker (its id while it lives, else the lease it ran under), error, stack and the log
 * lines written during it. Everything from Redis is escaped.
 */
export function renderTask(queue: string, t: TaskWithRuns, opts: PageOptions): string {
  const text = (v: unknown): string => escapeHtml(v);
  const facts = [
    fact('state', text(t.state)),
    fact('attempts', text(`${t.attemptsMade} of ${t.attempts} made`)),
    t.timestamp ? fact('put', text(utc(t.timestamp))) : '',
    t.dueAt !== undefined ? fact('due', text(utc(t.dueAt))) : '',
    t.finishedOn !== undefined ? fact('finished', text(utc(t.finishedOn))) : '',
    t.cancelled ? fact('cancelled', text(`by ${t.cancelled.by}${t.cancelled.reason ? `: ${t.cancelled.reason}` : ''}`)) : '',
    t.waitsFor ? fact('waits for', text(t.waitsFor)) : '',
    t.error ? fact('error', `<span class="error">${text(t.error)}</span>`) : '',
    fact('data', `<pre class="data">${text(jsonOrNote(t.data))}</pre>`),
    t.result !== undefined ? fact('result', `<pre class="data">${text(jsonOrNote(t.result))}</pre>`) : '',
  ].filter(Boolean);
  // Never run, or finished before attempts were recorded: its stacks and lines as kept.
  const kept = `<p class="muted">no attempt recorded</p>${t.stacks.map((s) => `<h3>stack of a failed attempt</h3><pre class="stack">${text(s)}</pre>`).join('')}<h3>log</h3>${lines('log', t.logs, 'no log lines')}`;
  const body = `<section class="card task" data-task="${text(t.id)}">
<header class="tools"><h2>task ${text(t.id)} (${text(t.name)})</h2> <a href="queue?name=${text(encodeURIComponent(queue))}">queue ${text(queue)}</a></header>
<table class="facts"><tbody>${facts.join('\n')}</tbody></table>
</section>
<section class="card attempts"><h2>attempts, oldest first</h2>
${t.runs.length === 0 ? kept : t.runs.map(attemptHtml).join('\n')}
</section>`;
  return shell('task', `task ${t.id} of ${queue}`, body, opts, { queue, task: t.id });
}

/** One attempt's section: how it ended, start, end, duration, worker, error, stack and log lines. */
function attemptHtml(r: WorkerRun): string {
  const text = (v: unknown): string => escapeHtml(v);
  const worker = r.worker ?? (r.holder ? `lease ${r.holder} (its worker is gone)` : 'none recorded');
  const facts = [
    fact('start', r.startedAt !== undefined ? text(utc(r.startedAt)) : '—'),
    fact('end', r.endedAt !== undefined ? text(utc(r.endedAt)) : r.outcome === 'running' ? 'running' : '—'),
    fact('duration', r.durationMs !== undefined ? text(`${Math.max(0, r.durationMs).toLocaleString('en-US')} ms`) : '—'),
    fact('worker', `<span data-f="worker">${text(worker)}</span>`),
    r.error ? fact('error', `<span class="error" data-f="error">${text(r.error)}</span>`) : '',
  ].filter(Boolean);
  return `<section class="attempt outcome-${text(r.outcome)}" data-attempt="${r.attempt}">
<h3>attempt ${r.attempt}: ${text(r.outcome)}</h3>
<table class="facts"><tbody>${facts.join('')}</tbody></table>
${r.stack ? `<div class="muted">stack</div><pre class="stack">${text(r.stack)}</pre>` : ''}
<div class="muted">log</div>${lines('log', r.logs, 'no log lines')}
</section>`;
}

/** The page for a task or queue that is not there: one line, and the way back. */
export function renderNoTask(message: string, opts: PageOptions): string {
  return shell('task', 'no such task', `<p class="empty">${escapeHtml(message)}: <a href="./">every queue</a></p>`, opts);
}
