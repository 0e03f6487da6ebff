import asciichart from 'asciichart';
import pc from 'picocolors';
import { printable } from '../terminal-text.js';
import type { QueueSample } from './watch-model.js';

/** Where and how the view is drawn. */
export interface ViewOptions {
  /** First line: `asyncq watch` or `asyncq demo`. */
  heading: string;
  /** Terminal size: the view never has more lines than `rows - 1` (the cursor's line) nor longer lines than `cols`. */
  rows: number;
  cols: number;
  /** A line under the heading, e.g. "reconnecting to Redis…". */
  status?: string;
  /** Shown after the heading. @defaultValue now */
  time?: Date;
  /** Colours (off for tests and plain output). @defaultValue true */
  color?: boolean;
}

/** How much of each queue a layout shows; layouts are tried from the richest down until one fits. */
interface Detail {
  chart: number;
  workers: number;
  partitions: number;
}

const LAYOUTS: Detail[] = [
  { chart: 6, workers: 6, partitions: 8 },
  { chart: 4, workers: 4, partitions: 4 },
  { chart: 3, workers: 2, partitions: 2 },
  { chart: 0, workers: 1, partitions: 1 },
  { chart: 0, workers: 0, partitions: 0 },
];

/** A rate or count for the view: whole above 100, one decimal below. */
export const num = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
/** A duration in ms for the view: `250ms`, `1.5s`, `2.0m`, `1.2h`; `-` for none. */
export const dur = (ms: number | null): string => (ms === null ? '-' : ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)}h` : ms >= 60_000 ? `${(ms / 60_000).toFixed(1)}m` : ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms)}ms`);

/**
 * The terminal view of one interval, fitted to the terminal: each queue in full (rates, depth,
 * latency, per-partition counts, workers, a done/s chart) with less detail as space runs out, and
 * when several queues do not fit even so, one line per queue. Text from Redis goes through
 * `printable`, and every line is cut to the width.
 */
export function renderView(samples: QueueSample[], histories: number[][], opts: ViewOptions): string {
  const color = opts.color ?? true;
  const bold = (s: string): string => (color ? pc.bold(s) : s);
  const quit = opts.heading === 'asyncq watch' ? '  (q or Ctrl-C quits)' : '';
  const head = [bold(cut(`${opts.heading}  ${(opts.time ?? new Date()).toLocaleTimeString()}${quit}`, opts.cols))];
  if (opts.status) head.push(cut(opts.status, opts.cols));
  const room = Math.max(1, opts.rows - 1) - head.length;
  for (const detail of LAYOUTS) {
    const body = samples.flatMap((s, i) => ['', ...queueBlock(s, histories[i] ?? [], detail, opts.cols, color)]);
    if (body.length <= room) return [...head, ...body].join('\n');
  }
  if (samples.length > 1) {
    const table = compactTable(samples, opts.cols);
    const shown = table.length <= room ? table : [...table.slice(0, Math.max(0, room - 1)), `... ${samples.length - (room - 2)} more queues: make the terminal taller`];
    return [...head, ...shown.slice(0, room)].join('\n');
  }
  return [...head, ...['', ...queueBlock(samples[0]!, histories[0] ?? [], LAYOUTS.at(-1)!, opts.cols, color)].slice(0, room)].join('\n');
}

/** One queue in full, with the detail asked for. */
function queueBlock(s: QueueSample, history: number[], d: Detail, cols: number, color: boolean): string[] {
  const c = s.counts;
  const flags = [s.exists === false ? 'gone: deleted, or its data was lost' : '', s.paused ? 'paused' : '', s.shutdown ? `shut down (${s.shutdown})` : ''].filter(Boolean).join(', ');
  const name = cut(`${printable(s.queue)}${flags ? `  [${flags}]` : ''}`, cols);
  const out = [color ? pc.bold(pc.cyan(name)) : name];
  out.push(`  enqueued/s ${num(s.enqueuedPerSec).padStart(7)}   done/s ${num(s.donePerSec).padStart(7)}   failed/s ${num(s.failedPerSec).padStart(6)}`);
  out.push(`  waiting ${c.waiting}  delayed ${c.delayed}  active ${c.active}  unfinished ${c.unfinished}  completed ${c.completed}  failed ${c.failed}`);
  out.push(`  wait p50 ${dur(s.waitMs.p50)} p99 ${dur(s.waitMs.p99)}   run p50 ${dur(s.runMs.p50)} p99 ${dur(s.runMs.p99)}   workers ${s.workers.length}`);
  out.push(`  oldest waiting ${dur(s.oldestWaitingMs)}   drain ${drainCell(s, true)}`);
  const parts = s.partitions ?? [];
  for (const p of parts.slice(0, d.partitions)) out.push(`    partition ${p.partition}: waiting ${p.waiting}  delayed ${p.delayed}  active ${p.active}  unfinished ${p.unfinished}`);
  if (parts.length > d.partitions) out.push(`    ... ${d.partitions === 0 ? '' : 'and '}${parts.length - d.partitions} ${d.partitions === 0 ? '' : 'more '}partitions`);
  for (const w of s.workers.slice(0, d.workers)) {
    out.push(`    ${printable(w.id).padEnd(30).slice(0, 30)} c=${w.concurrency}  done ${w.done}  ${num(w.perSec)}/s`);
  }
  if (s.workers.length > d.workers && d.workers > 0) out.push(`    ... and ${s.workers.length - d.workers} more workers`);
  if (d.chart > 0 && history.length >= 2) {
    const points = Math.max(2, Math.min(60, cols - 12));
    out.push(`  done/s over the last ${Math.min(history.length, points)} samples:`);
    out.push(...asciichart.plot(history.slice(-points), { height: d.chart, format: (x: number) => num(x).padStart(7) }).split('\n'));
  }
  return out.map((l, i) => (i === 0 ? l : cut(l, cols)));
}

/** One line per queue under a header, for many queues on a small terminal. */
export function compactTable(samples: QueueSample[], cols: number): string[] {
  const widths = [7, 7, 7, 8, 7, 11, 8, 6];
  const width = Math.max(5, Math.min(Math.max(...samples.map((s) => printable(s.queue).length)), cols - widths.reduce((a, b) => a + b, 0)));
  const row = (cells: string[]): string => cut(`${cells[0]!.padEnd(width)}${cells.slice(1).map((x, i) => x.padStart(widths[i]!)).join('')}`, cols);
  return [
    row(['queue', 'put/s', 'done/s', 'fail/s', 'waiting', 'active', 'unfinished', 'workers', 'drain']),
    ...samples.map((s) =>
      row([
        cut(printable(s.queue), width),
        num(s.enqueuedPerSec),
        num(s.donePerSec),
        num(s.failedPerSec),
        String(s.counts.waiting),
        String(s.counts.active),
        String(s.counts.unfinished),
        String(s.workers.length),
        drainCell(s, false),
      ]),
    ),
  ];
}

/**
 * The drain estimate as `watch` shows it: a time while tasks finish, else what the queue is
 * (paused, stuck, gone...), never a number that looks like a drain time.
 */
function drainCell(s: QueueSample, long: boolean): string {
  const d = s.drain;
  if (d.state === 'drained') return '-';
  if (d.state === 'draining') return long ? `~${dur(d.seconds * 1000)}` : dur(d.seconds * 1000);
  if (long) return d.words;
  return d.state === 'measuring' ? '?' : d.state === 'shut down' ? 'shut' : d.state;
}

/** `line` cut to `cols` characters, with an ellipsis when cut. */
function cut(line: string, cols: number): string {
  return line.length <= cols ? line : `${line.slice(0, Math.max(0, cols - 1))}…`;
}
