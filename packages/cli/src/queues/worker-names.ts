import type { WorkerInfo } from '@asyncq/core';

/**
 * The worker that holds a task, from the lease token it is held under (`<handle>.<n>`): the
 * registered worker whose queue handle made the lease. Every command that names a task's worker
 * (`inspect`, `join`, `workers`) names it by this worker's `id` (`host:pid:xxxxxxxx`, what
 * `asyncq workers` and `watch` list), never by the lease.
 */
export function holderOf(token: string | undefined, workers: readonly WorkerInfo[]): WorkerInfo | undefined {
  if (!token) return undefined;
  return workers.find((w) => w.handle && token.startsWith(`${w.handle}.`));
}
