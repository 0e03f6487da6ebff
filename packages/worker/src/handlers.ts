import { ConfigError, type TaskDefinition } from '@asyncq/core';

/** What a handler gets besides the task's data. */
export interface TaskContext {
  /** The task id. */
  readonly id: string;
  /** The task name (which picked this handler). */
  readonly name: string;
  /** 1 for the first try, then one more after each failed attempt. */
  readonly attempt: number;
  /** How many attempts the task may have in all. */
  readonly attempts: number;
  /** Aborted when the task runs past its timeout, or the worker stops and hands the task back. */
  readonly signal: AbortSignal;
  /** Records progress (a number, e.g. percent, or a JSON object) with the task. */
  progress(value: number | object): Promise<void>;
  /** Appends a line to the task's log (kept with the task in Redis). */
  log(...args: unknown[]): Promise<void>;
}

/** Runs one task: resolves to its result (JSON), throws to fail the attempt. */
export type Handler<Args = any, Result = unknown> = (data: Args, ctx: TaskContext) => Promise<Result> | Result;

/** Handlers by task name. */
export type HandlerMap = Readonly<Record<string, Handler>>;

/** What a handler module exports by default, and what a Worker runs. */
export type Handlers = HandlerMap | Handler;

const HINT = 'export default defineHandlers({ name: async (data, ctx) => result }), or one async function for every task';

/**
 * Declares the handlers of a worker, by task name.
 *
 * @example
 * ```ts
 * export default defineHandlers({
 *   resize: async (data: { url: string }, ctx) => { await ctx.progress(50); return { ok: true }; },
 * });
 * ```
 */
export function defineHandlers<M extends Record<string, Handler>>(handlers: M): Readonly<M> {
  checkHandlers(handlers, 'defineHandlers()');
  return Object.freeze({ ...handlers });
}

/**
 * Types a handler by a shared {@link TaskDefinition}, so producer and worker agree on arguments
 * and result: `defineHandlers({ [sendEmail.name]: implement(sendEmail, async (args) => ...) })`.
 */
export function implement<Args, Result>(
  _definition: TaskDefinition<Args, Result>,
  handler: (data: Args, ctx: TaskContext) => Promise<Result> | Result,
): Handler<Args, Result> {
  return handler;
}

/** Throws a one-line {@link ConfigError} unless `value` is a handler or a non-empty map of handlers. */
export function checkHandlers(value: unknown, where: string): Handlers {
  if (typeof value === 'function') return value as Handler;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${where} is ${describe(value)}, not handlers: ${HINT}`);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) throw new ConfigError(`${where} has no handlers: ${HINT}`);
  for (const [name, fn] of entries) {
    if (typeof fn !== 'function') throw new ConfigError(`${where}: handler "${name}" is ${describe(fn)}, not a function: ${HINT}`);
  }
  return value as HandlerMap;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
