/**
 * The states a task can be listed in: `blocked` is a flow step waiting for earlier ones (a chain's
 * later steps, a chord's callback).
 */
export type TaskState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled' | 'blocked';

/** A task as listed by `Queue.tasks`, for inspection. */
export interface TaskSummary {
  id: string;
  name: string;
  data: unknown;
  state: TaskState;
  /** Attempts made so far. */
  attemptsMade: number;
  /** Put time, ms since the epoch. */
  timestamp: number;
  /** When it last finished (completed or failed), ms since the epoch; absent while unfinished. */
  finishedAt?: number;
  /** The last error message, for failed (or retrying) tasks. */
  error?: string;
  /** The result, for completed tasks. */
  result?: unknown;
  /** For active tasks: the lease the task is held under (its prefix is the holder's `WorkerInfo.handle`). */
  holder?: string;
  /** The partition it is in, for a partitioned queue. */
  partition?: number;
  /** For cancelled tasks: when (ms since the epoch), why, and by whom. */
  cancelled?: { at: number; reason: string; by: string };
  /** For a flow's tasks not started yet: what it waits for. */
  waitsFor?: string;
  /** For a task that has run: when its last attempt started, and how long it ran (absent while it runs), ms. */
  lastRun?: { startedAt: number; durationMs?: number };
  /** For a delayed task: when it is due (its delay, or a retry's backoff, ends), ms since the epoch. */
  dueAt?: number;
}
