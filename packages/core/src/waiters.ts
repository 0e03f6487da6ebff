import type { Waiter } from './abortable-wait.js';

/** Waiters served in arrival order (gets, puts, joiners). */
export class WaiterList<V> {
  private readonly items: Waiter<V>[] = [];

  get length(): number {
    return this.items.length;
  }

  push(w: Waiter<V>): () => void {
    this.items.push(w);
    return () => this.remove(w);
  }

  /** The oldest waiter still waiting, removed from the list. */
  shift(): Waiter<V> | undefined {
    let w = this.items.shift();
    while (w?.settled) w = this.items.shift();
    return w;
  }

  remove(w: Waiter<V>): void {
    const i = this.items.indexOf(w);
    if (i >= 0) this.items.splice(i, 1);
  }

  /** Settles every waiter with `settle` and empties the list. */
  drain(settle: (w: Waiter<V>) => void): void {
    for (const w of this.items.splice(0)) settle(w);
  }

  rejectAll(error: unknown): void {
    this.drain((w) => w.reject(error));
  }
}

/** How a task ended, as `result()` reports it. */
export type Outcome = { value: unknown } | { error: Error };

/** Waiters keyed by task id (result waiters): settled together when their task finishes. */
export class KeyedWaiters<V> {
  private readonly byKey = new Map<string, Waiter<V>[]>();

  get size(): number {
    return this.byKey.size;
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  add(key: string, w: Waiter<V>): () => void {
    const list = this.byKey.get(key) ?? [];
    list.push(w);
    this.byKey.set(key, list);
    return () => {
      const i = list.indexOf(w);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0 && this.byKey.get(key) === list) this.byKey.delete(key);
    };
  }

  /** Resolves or rejects every waiter of `key` with `outcome`. */
  settle(key: string, outcome: { value: V } | { error: Error }): void {
    for (const w of this.byKey.get(key) ?? []) {
      if ('error' in outcome) w.reject(outcome.error);
      else w.resolve(outcome.value);
    }
    this.byKey.delete(key);
  }

  rejectAll(error: unknown): void {
    for (const list of this.byKey.values()) for (const w of list) w.reject(error);
    this.byKey.clear();
  }
}

/** The value of an outcome, or its error thrown. */
export function unwrap(outcome: Outcome): unknown {
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}
