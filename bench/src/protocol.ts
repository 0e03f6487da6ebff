/**
 * What the bench driver and its child processes say to each other. Every timed phase runs in a
 * fresh child process of its own, so one engine's garbage, GC pauses and event-loop load never
 * slow another's figures.
 */

/** The three engines compared. */
export type EngineId = 'asyncq' | 'bullmq' | 'bee';

/** What a child does once told to go. */
export type ChildRole =
  /** Runs the engine's worker with a no-op handler until `count` prefilled tasks are finished. */
  | 'worker'
  /** asyncq only: one Queue handle, `concurrency` loops of get()/taskDone(), then join(). */
  | 'handle'
  /** Puts `count` tasks one at a time, `inFlight` at once. */
  | 'put'
  /** Enqueues `count` tasks in batches of `batch`. */
  | 'bulk'
  /** asyncq only: `count` trials of last taskDone -> join() in another handle resolving. */
  | 'join-wakeup'
  /** `count` tasks enqueued before "go"; then every result waited on at once while a worker at `concurrency` runs them. */
  | 'gather'
  /** asyncq only: `count` trials of `ref.cancel()` -> the running handler's ctx.signal aborting. */
  | 'cancel-latency';

/** Everything a child needs, passed as JSON in argv[2]. */
export interface ChildSpec {
  engine: EngineId;
  role: ChildRole;
  url: string;
  queue: string;
  count: number;
  concurrency: number;
  inFlight: number;
  batch: number;
  /** Send a `progress` message this often (ms); 0 = never. */
  progressMs: number;
  /** Completed tasks the queue keeps (asyncq's default, given to BullMQ too). */
  keepCompleted: number;
}

/** Messages from a child to the driver. */
export type ChildMessage =
  | { event: 'ready'; rss: number }
  | { event: 'progress'; done: number; rss: number }
  | {
      event: 'done';
      /** From "go" to the last task finished, measured in the child. */
      ms: number;
      /** Peak RSS since "go" (VmHWM on Linux, else sampled). */
      peakRss: number;
      /** The child's own CPU (user + system) since "go", µs. */
      cpuUs: number;
      /** join-wakeup and cancel-latency only: one latency per trial, ms. */
      samples?: number[];
    }
  | { event: 'error'; message: string };

/** The driver's only message to a child: start now. */
export const GO = 'go';
