import { existsSync } from 'node:fs';

/** Where Debian, Ubuntu and Homebrew put libfaketime (the `faketime` package; scripts/setup.mjs installs it). */
const CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
  '/usr/local/lib/faketime/libfaketime.so.1',
  '/usr/lib64/faketime/libfaketime.so.1',
];

/** The path of libfaketime, or a one-line error saying how to install it. */
export function libfaketime(): string {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error(`libfaketime not found (looked in ${CANDIDATES.join(', ')}): apt-get install faketime, or run npm run setup`);
  return found;
}

/**
 * Environment that runs a (node) process with its wall clock `offset` away from the real one, e.g.
 * `+30s` or `-30s`: Date.now() and gettimeofday are shifted, while CLOCK_MONOTONIC (node's timers)
 * stays real, so setTimeout still waits the real time. Checked with node 20: libfaketime loaded with
 * LD_PRELOAD shifts Date.now() by the offset from the first call on.
 */
export function skewedClockEnv(offset: string): Record<string, string> {
  return { LD_PRELOAD: libfaketime(), FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1', FAKETIME_NO_CACHE: '1' };
}
