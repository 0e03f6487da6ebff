/** Nearest-rank percentile of `xs` (0 < q <= 1); undefined for no samples. */
export function percentile(xs: readonly number[], q: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** Seconds with one decimal, or '-' for no value. */
export function secs(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Prints one scenario's figures as a single line, `[chaos] <scenario>: k=v k=v ...`, so the
 * README's Guarantees section can be filled from the suite's output.
 */
export function report(scenario: string, figures: Record<string, string | number | boolean | null | undefined>): void {
  const parts = Object.entries(figures).map(([k, v]) => `${k}=${v === undefined || v === null ? '-' : v}`);
  console.log(`[chaos] ${scenario}: ${parts.join(' ')}`);
}
