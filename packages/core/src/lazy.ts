/**
 * Runs `init` on the first call and shares its promise; a failure is forgotten, so a later call
 * retries (a Redis that was down at the first call may be up at the next).
 */
export function lazily<T>(init: () => Promise<T>): () => Promise<T> {
  const lazy = new Lazy(init);
  return () => lazy.get();
}

/** A value built on first use, that can say whether it ever was (so `close()` closes only what was opened). */
export class Lazy<T> {
  private started?: Promise<T>;
  private built?: T;

  constructor(private readonly init: () => Promise<T>) {}

  get(): Promise<T> {
    return (this.started ??= this.init().then(
      (v) => (this.built = v),
      (e: unknown) => {
        this.started = undefined;
        throw e;
      },
    ));
  }

  /** The value once built, without waiting (undefined before): for hot paths that should not await. */
  get value(): T | undefined {
    return this.built;
  }

  /** The value if it was ever asked for (undefined otherwise, or when building it failed). */
  async ifStarted(): Promise<T | undefined> {
    return this.started?.catch(() => undefined);
  }
}
