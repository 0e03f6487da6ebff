import type { AsyncQueue, WorkerRegistry } from '@asyncq/core';
import { safeMessage } from '@asyncq/core/internal';
import { WorkerStopping, type RunningTask } from './running-task.js';
import type { TaskRunner } from './task-runner.js';
import { settlesWithin, sleep } from './timers.js';
import type { StopReason, WorkerEvents } from './worker-events.js';
import type { WorkerLogger } from './worker-logger.js';
import type { WorkerSettings } from './worker-options.js';

/** The parts of a worker a stop works on. */
export interface StopParts {
  id: string;
  queue: AsyncQueue<unknown>;
  registry: WorkerRegistry | undefined;
  /** The worker is in the registry (its first heartbeat got through): it leaves it. */
  registered: boolean;
  runner: TaskRunner;
  settings: WorkerSettings;
  /** The lease of the queue's tasks, for the message about abandoned ones. */
  leaseMs: number;
  log: WorkerLogger;
  emit<K extends keyof WorkerEvents>(event: K, ...args: WorkerEvents[K]): void;
  /** Aborted to end the grace (and the abandon period) at once: a second SIGINT. */
  hurry: AbortSignal;
  /** Aborted here once the stop gives up waiting for Redis. */
  giveUp: AbortController;
  /** Called once no handler of this worker can run any more (they all settled). */
  released(): void;
}

/**
 * A graceful stop, the caller having stopped taking tasks:
 * 1. running tasks get `graceMs` to finish;
 * 2. the rest get `ctx.signal` aborted and `abandonMs` to settle. A handler that returns now has
 *    done its task (it completes: handing it back would run it again); one that throws is handed
 *    back, not counted as a failed attempt;
 * 3. a handler still running after that is abandoned: its task is NOT handed back, since it might
 *    then run twice at once. It stays held by this process (its lease renewed) until the handler
 *    settles, or comes back `lease` ms after the process exits; the stop goes on without it;
 * 4. within `closeTimeoutMs` in all, outcomes are recorded, the worker leaves the registry and the
 *    queue is closed, which hands back every task it still holds. With abandoned handlers the queue
 *    is closed only once they settled. Redis that does not answer in time does not hold the stop:
 *    tasks not handed back then return when their lease runs out.
 * Resolves with how many tasks were handed back (0 when closing did not finish in time: their
 * lease brings them back) and how many handlers were abandoned.
 */
export async function stopGracefully(p: StopParts, reason: StopReason, graceMs: number): Promise<{ handedBack: number; abandoned: number }> {
  const { runner, log, settings } = p;
  log.info({ reason, graceMs, running: runner.running.size }, 'worker stopping: it takes no more tasks');
  p.emit('stopping', { reason, graceMs, running: runner.running.size });
  if (runner.running.size > 0) {
    log.info({ graceMs, running: runner.running.size }, 'grace started: running tasks may finish');
    await waitAtMost(runner.whenIdle(), graceMs, p.hurry);
    log.info({ running: runner.running.size }, 'grace ended');
  }
  const stopping = [...runner.running].filter((r) => r.stopForHandBack(new WorkerStopping()));
  let abandoned: RunningTask[] = [];
  if (stopping.length > 0) {
    log.warn({ tasks: stopping.length, abandonMs: settings.abandonMs }, 'aborted the tasks still running (ctx.signal); waiting for their handlers to settle');
    await waitAtMost(Promise.all(stopping.map((r) => r.decided)), settings.abandonMs, p.hurry);
    abandoned = stopping.filter((r) => !r.handlerSettled);
  }
  if (abandoned.length > 0) {
    log.error(
      { tasks: abandoned.map((r) => r.task.id), leaseMs: p.leaseMs },
      `${abandoned.length} handler(s) ignored the abort for ${settings.abandonMs} ms: abandoned, not handed back (they could run twice at once); their tasks stay held until the handlers settle, and come back ${p.leaseMs} ms after this process exits`,
    );
  }

  const deadline = Date.now() + settings.closeTimeoutMs;
  const left = (): number => Math.max(0, deadline - Date.now());
  if (!(await settlesWithin(runner.whenAtMost(abandoned.length), left()))) log.warn({}, 'Redis did not take every task outcome in time');
  p.giveUp.abort();
  if (p.registry && p.registered && !(await settlesWithin(p.registry.leave(p.id), left()))) {
    log.warn({}, 'could not leave the worker registry in time; the entry drops out when its heartbeat expires');
  }
  let handedBack = 0;
  if (abandoned.length === 0) {
    if (await closeQueue(p, left())) handedBack = runner.handedBack;
    p.released();
  } else {
    // Closing hands back every task the queue holds: only once no abandoned handler runs any more.
    void runner.whenIdle().then(async () => {
      await closeQueue(p, settings.closeTimeoutMs);
      p.released();
    });
  }
  if (p.registry) await settlesWithin(p.registry.close(), left());
  return { handedBack, abandoned: abandoned.length };
}

/** Closes the queue, which hands back what it holds; true when that finished in time. */
async function closeQueue(p: StopParts, ms: number): Promise<boolean> {
  const handedBack = p.runner.handedBack;
  const closing = p.queue.close();
  if (!(await settlesWithin(closing, ms))) {
    p.log.warn({ tasks: handedBack }, 'Redis did not answer in time: tasks this worker held come back when their lease runs out');
    return false;
  }
  const failure = await closing.then(() => undefined, (e: unknown) => safeMessage(e));
  if (failure) {
    p.log.warn({ err: failure }, 'closing the queue failed; tasks it held come back when their lease runs out');
    return false;
  }
  if (handedBack > 0) p.log.info({ tasks: handedBack }, `handed ${handedBack} task(s) back to the queue`);
  return true;
}

/**
 * Waits for `done`, at most `ms`, or until `hurry` aborts. The timer ends with the wait: a grace
 * cut short by its tasks finishing used to leave its timer running, which kept the process alive
 * for the rest of the grace (10 s by default) after `close()` resolved.
 */
async function waitAtMost(done: Promise<unknown>, ms: number, hurry: AbortSignal): Promise<void> {
  const over = new AbortController();
  try {
    await Promise.race([done, sleep(ms, AbortSignal.any([hurry, over.signal]))]);
  } finally {
    over.abort();
  }
}
