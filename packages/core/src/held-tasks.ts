import { TaskDoneError } from './errors.js';

/** The tasks one handle got and has not finished, oldest first (what `taskDone()` without an argument finishes). */
export class HeldTasks<H extends { readonly id: string }> {
  private readonly byId = new Map<string, H>();

  constructor(private readonly queue: string) {}

  get size(): number {
    return this.byId.size;
  }

  add(task: H): void {
    this.byId.set(task.id, task);
  }

  delete(task: H): boolean {
    // Only the exact object: after a lease loss the same id may be held again by a newer fetch.
    if (this.byId.get(task.id) !== task) return false;
    return this.byId.delete(task.id);
  }

  values(): H[] {
    return [...this.byId.values()];
  }

  /**
   * Removes and returns the task `taskDone(taskOrId)` means, before any await, so that two
   * concurrent `taskDone()` calls never pick the same task.
   */
  take(taskOrId: { readonly id: string } | string | undefined): H {
    const held = this.pick(taskOrId);
    this.byId.delete(held.id);
    return held;
  }

  /** The task `taskDone(taskOrId)` means, or `TaskDoneError` when this handle holds no such task. */
  pick(taskOrId: { readonly id: string } | string | undefined): H {
    if (taskOrId === undefined) {
      const oldest = this.byId.values().next();
      if (oldest.done) {
        throw new TaskDoneError(`taskDone() called more times than tasks were got from queue "${this.queue}"`);
      }
      return oldest.value;
    }
    const id = typeof taskOrId === 'string' ? taskOrId : taskOrId.id;
    const held = this.byId.get(id);
    // A Task object must be the very delivery this handle holds, not an older delivery of the same id.
    if (!held || (typeof taskOrId !== 'string' && (taskOrId as unknown) !== held)) {
      throw new TaskDoneError(
        `task ${JSON.stringify(id)} is not held by this handle on queue "${this.queue}" (never got here, or already done)`,
      );
    }
    return held;
  }
}
