import type { PermitMode } from './permits.js';
import { Semaphore } from './semaphore.js';

/**
 * asyncio's `BoundedSemaphore` across processes: a {@link Semaphore} whose `release()` rejects with
 * `SemaphoreOverReleased` when it would raise the permits above `value` (more releases than
 * acquires, fleet-wide). A name used as a BoundedSemaphore cannot be opened as a Semaphore.
 */
export class BoundedSemaphore extends Semaphore {
  protected static override readonly mode: PermitMode = 'bounded';
  protected static override readonly label: string = 'BoundedSemaphore';
}
