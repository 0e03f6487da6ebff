/**
 * A named task type shared by producer and worker code: the producer's
 * `enqueue(definition, args)` takes `Args` and its result resolves to
 * `Result`; the worker's handler for `definition.name` gets `Args` and must
 * return `Result`. It holds only the name at run time.
 */
export interface TaskDefinition<Args, Result> {
  readonly name: string;
  /** Type-only: never set at run time. */
  readonly types?: { args: Args; result: Result };
}

/**
 * Defines a task type once, for both sides.
 *
 * @example
 * ```ts
 * export const sendEmail = defineTask<{ to: string }, { sent: boolean }>('send-email');
 * ```
 */
export function defineTask<Args, Result = unknown>(name: string): TaskDefinition<Args, Result> {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('defineTask needs a non-empty name');
  return Object.freeze({ name });
}
