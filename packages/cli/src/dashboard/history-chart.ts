import type { HistoryPoint } from '@asyncq/core';

/** An axis tick: where (SVG units) and its label. */
export interface ChartTick {
  at: number;
  label: string;
}

/** What the page draws for one history chart: a polyline per series, the y ticks at the left, the x ticks (time) below. */
export interface ChartLayout {
  lines: Record<string, string>;
  yTicks: ChartTick[];
  xTicks: ChartTick[];
}

/**
 * Lays out a history chart of `series` picked from `points` (oldest first, one per minute or
 * hour) in a `width` × `height` plot area: y from 0 to a round maximum with three ticks, labelled
 * with `unit` ('' for counts, 'ms' for run times, shown as ms or s); x ticks at five evenly spaced
 * times, labelled in UTC (HH:MM for minutes, MM-DD HH:00 for hours). Missing values (a p95 of a
 * minute with no completion) break nothing: they sit at 0. Self-contained like the view functions
 * of queue-view.ts: the page's script is given its source.
 */
export function historyLayout(points: HistoryPoint[], series: string[], unit: string, width: number, height: number): ChartLayout {
  const value = (p: HistoryPoint, s: string): number => {
    const v = (p as unknown as Record<string, number | null>)[s];
    return typeof v === 'number' && Number.isFinite(v) ? v : 0;
  };
  const top = Math.max(unit === 'ms' ? 10 : 1, ...points.flatMap((p) => series.map((s) => value(p, s))));
  const mag = 10 ** Math.floor(Math.log10(top));
  const max = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((m) => m >= top) ?? top;
  const fmt = (v: number): string => {
    if (unit !== 'ms') return v >= 1000 ? `${+(v / 1000).toFixed(1)}k` : String(+v.toFixed(1));
    return v >= 1000 ? `${+(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;
  };
  const n = points.length;
  const x = (i: number): number => (n <= 1 ? width : (i / (n - 1)) * width);
  const y = (v: number): number => height - (v / max) * height;
  const lines: Record<string, string> = {};
  for (const s of series) lines[s] = points.map((p, i) => `${x(i).toFixed(1)},${y(value(p, s)).toFixed(1)}`).join(' ');
  const hourly = n > 1 && points[1]!.at - points[0]!.at >= 3_600_000;
  const label = (at: number): string => {
    const iso = new Date(at).toISOString();
    return hourly ? `${iso.slice(5, 10)} ${iso.slice(11, 13)}:00` : iso.slice(11, 16);
  };
  const xTicks: ChartTick[] = [];
  if (n > 0) for (let k = 0; k <= 4; k++) {
    const i = Math.round((k / 4) * (n - 1));
    xTicks.push({ at: x(i), label: label(points[i]!.at) });
  }
  const yTicks = [0, max / 2, max].map((v) => ({ at: y(v), label: fmt(v) }));
  return { lines, yTicks, xTicks };
}
