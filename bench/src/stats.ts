/** The bench's one percentile helper and its number formats. */

/** The q-quantile of ascending `sorted` (nearest rank); NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** The median of `xs`, ignoring NaN (a failed run); NaN when none is left. */
export function median(xs: readonly number[]): number {
  return quantile(
    xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b),
    0.5,
  );
}

/** 12,345 */
export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
}

/** `n` with `digits` decimals, or a dash when there is no figure. */
export function fmtFixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '—';
}

/** Bytes as whole MB. */
export function fmtMb(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(0)} MB` : '—';
}
