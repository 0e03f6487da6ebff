/** Helpers both benchmarks share: Redis options from a URL, key clean-up, and number formatting. */
import { Redis } from 'ioredis';

export function redisOptions(url: string): { host: string; port: number; db: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0) };
}

/** Deletes a finished run's keys, so runs do not slow each other down. */
export async function cleanup(url: string, pattern: string): Promise<void> {
  const r = new Redis(url);
  const keys = await r.keys(pattern);
  for (let i = 0; i < keys.length; i += 500) await r.del(...keys.slice(i, i + 500));
  await r.quit();
}

export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export function median(xs: number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
