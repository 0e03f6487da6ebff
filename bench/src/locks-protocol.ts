/** What the driver and a `locks` child (locks-child.ts) share. */

/** The variants, as the driver names them. */
export const LOCK_VARIANTS = ['asyncq Lock', 'redis-semaphore Mutex', 'asyncq Semaphore', 'redis-semaphore Semaphore'] as const;
export type LockVariant = (typeof LOCK_VARIANTS)[number];

/** What a run prints, as one JSON line. */
export interface LockRunResult {
  perSecond: number;
  commandsPerOp: number;
  scriptCallsPerOp: number;
  latenciesMs: number[];
}
