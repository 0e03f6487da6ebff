import { readFileSync } from 'node:fs';

/** This package's version, as the registry shows it ('unknown' if its package.json cannot be read). */
export const WORKER_VERSION: string = readVersion();

function readVersion(): string {
  try {
    // dist/ and src/ both sit beside the package.json, in the repository and once installed.
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
