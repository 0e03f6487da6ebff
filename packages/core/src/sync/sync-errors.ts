import { AsyncqError } from '../errors.js';

/**
 * `release()` of a Lock this handle does not hold, or `wait()`/`notify()` on a Condition without
 * holding its lock (asyncio raises `RuntimeError`).
 */
export class LockNotHeld extends AsyncqError {
  declare readonly code: 'LOCK_NOT_HELD';

  constructor(message: string) {
    super('LOCK_NOT_HELD', message);
  }
}

/** A `BoundedSemaphore` was released more times than it was acquired (asyncio raises `ValueError`). */
export class SemaphoreOverReleased extends AsyncqError {
  declare readonly code: 'SEMAPHORE_OVER_RELEASED';

  constructor(name: string, value: number) {
    super(
      'SEMAPHORE_OVER_RELEASED',
      `BoundedSemaphore "${name}" was released more times than acquired (it would exceed its value ${value}); release only permits you acquired`,
    );
  }
}

/** A `Barrier` was aborted or reset while a party waited, or is broken (asyncio `BrokenBarrierError`). */
export class BrokenBarrier extends AsyncqError {
  declare readonly code: 'BROKEN_BARRIER';

  constructor(name: string, how: 'broken' | 'reset') {
    super(
      'BROKEN_BARRIER',
      how === 'reset' ? `barrier "${name}" was reset while this party waited; wait again` : `barrier "${name}" is broken (abort() was called); reset() it before waiting again`,
    );
  }
}

/** The coordination primitive's handle was closed; open a new one. */
export class PrimitiveClosed extends AsyncqError {
  declare readonly code: 'PRIMITIVE_CLOSED';

  constructor(kind: string, name: string) {
    super('PRIMITIVE_CLOSED', `this handle on ${kind} "${name}" is closed; create a new one`);
  }
}
