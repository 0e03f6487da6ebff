import { randomBytes } from 'node:crypto';

/** A fresh queue (or lock, or key) name for one test: `<label>-<10 hex digits>`. */
export function uniqueName(label = 'q'): string {
  return `${label}-${randomBytes(5).toString('hex')}`;
}
