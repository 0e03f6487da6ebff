import type { TaskDetails, TaskRun, TaskSummary } from '@asyncq/core';
import { formatDuration } from '../grammar/durations.js';
import { jsonOrNote, printable, TOO_DEEP } from '../terminal-text.js';
import type { QueueReader } from './queue-reader.js';
import { holderOf } from './worker-names.js';

/** One attempt of a task, with the id of the worker that ran it while that worker lives (else `null`: its lease names it). */
export interface WorkerRun extends TaskRun {
  worker: string | null;
}

/** A task with everything kept about it, each attempt named by its worker. */
export interface TaskWithRuns extends TaskDetails {
  runs: WorkerRun[];
}

/**
 * Task `id` of the queue with its attempts, each naming its worker as `asyncq workers` lists it
 * (`host:pid:xxxxxxxx`) while that worker lives; undefined when the queue has no such task. What
 * `asyncq logs`, `asyncq inspect --id` and the dashboard's task page show. Only reads.
 */
export async function readTaskRuns(q: Pick<QueueReader, 'admin' | 'registry'>, id: string): Promise<TaskWithRuns | undefined> {
  const task = await q.admin.task(id);
  if (!task) return undefined;
  const workers = task.runs.length > 0 ? await q.registry.list() : [];
  return { ...task, runs: task.runs.map((r) => ({ ...r, worker: holderOf(r.holder, workers)?.id ?? null })) };
}

/** One task as a JSON object (`inspect --id --json`, the dashboard's `api/task`), its data or result too deep to write as a note. */
export function taskAsJson(task: TaskWithRuns): string {
  const whole = jsonOrNote(task);
  return whole === TOO_DEEP ? jsonOrNote(fitted(task)) : whole;
}

/** The task with its data and result replaced by a note where they are too deep to write. */
export function fitted<T extends TaskSummary>(t: T): T {
  const fit = (v: unknown): unknown => (jsonOrNote(v) === TOO_DEEP ? TOO_DEEP : v);
  return { ...t, data: fit(t.data), ...(t.result === undefined ? {} : { result: fit(t.result) }) };
}

/** A time as the CLI prints it: ISO 8601, UTC. */
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * A task as `logs` and `inspect --id` print it: one line with its name, state and attempts, one
 * with its times (put, due, last attempt started, finished, ran), its data and result when
 * `whole`, its error, then each attempt ({@link runLines}). A task with no attempt recorded (never
 * run, or finished before attempts were recorded) shows its stacks and log lines as kept.
 */
export function taskReport(queue: string, t: TaskWithRuns, opts: { whole?: boolean } = {}): string[] {
  const out = [`${printable(queue)} task ${printable(t.id)} (${printable(t.name)}): ${t.state}, ${t.attemptsMade} of ${t.attempts} attempt${t.attempts === 1 ? '' : 's'} made`];
  const when = [
    t.timestamp ? `put ${iso(t.timestamp)}` : '',
    t.dueAt !== undefined ? `due ${iso(t.dueAt)}` : '',
    t.processedOn ? `last attempt started ${iso(t.processedOn)}` : '',
    t.finishedOn ? `finished ${iso(t.finishedOn)}` : '',
    t.processedOn !== undefined && t.finishedOn !== undefined ? `ran ${formatDuration(Math.max(0, t.finishedOn - t.processedOn))}` : '',
  ].filter(Boolean);
  if (when.length) out.push(when.join(', '));
  if (opts.whole) {
    out.push(`data: ${printable(jsonOrNote(t.data))}`);
    if (t.result !== undefined) out.push(`result: ${printable(jsonOrNote(t.result))}`);
    if (t.cancelled) out.push(`cancelled by ${printable(t.cancelled.by)}${t.cancelled.reason ? `: ${printable(t.cancelled.reason)}` : ''}`);
    if (t.waitsFor) out.push(`waits for ${printable(t.waitsFor)}`);
  }
  if (t.error) out.push(`error: ${printable(t.error)}`);
  if (t.runs.length > 0) return [...out, ...t.runs.flatMap(runLines)];
  t.stacks.forEach((stack, i) => {
    out.push(`stack of failed attempt ${t.stacks.length > 1 ? `${i + 1} of ${t.stacks.length} kept` : 'kept'}:`);
    for (const line of String(stack).split('\n')) out.push(`  ${printable(line)}`);
  });
  if (t.logs.length === 0) out.push('(no log lines)');
  return [...out, ...t.logs.map((line) => printable(line))];
}

/** One attempt: how it ended, when and where, then its error, stack and lines, indented. */
export function runLines(r: WorkerRun): string[] {
  const took = r.durationMs !== undefined ? ` after ${formatDuration(Math.max(0, r.durationMs))}` : '';
  const started = r.startedAt !== undefined ? `, started ${iso(r.startedAt)}` : '';
  const ended = r.endedAt !== undefined ? `, ended ${iso(r.endedAt)}` : '';
  const where = r.worker ? `worker ${printable(r.worker)}` : r.holder ? `lease ${printable(r.holder)}` : 'no worker recorded';
  const out = [`attempt ${r.attempt}: ${r.outcome}${took}${started}${ended}, ${where}`];
  if (r.error) out.push(`  error: ${printable(r.error)}`);
  if (r.stack) out.push('  stack:', ...r.stack.split('\n').map((l) => `    ${printable(l)}`));
  if (r.logs.length === 0) out.push('  (no log lines)');
  else out.push('  log:', ...r.logs.map((l) => `    ${printable(l)}`));
  return out;
}
