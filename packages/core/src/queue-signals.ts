import type { Redis } from 'ioredis';

/** Messages on a queue's channel; `done:<id>` tells result waiters that task `id` finished. */
export type Signal =
  | 'want-room'
  | 'room'
  | 'want-join'
  | 'drained'
  | 'want-result'
  | `done:${string}`
  | 'shutdown'
  | 'reopen'
  | 'scale';

/** How long a "want-room", "want-join" or "want-result" keeps a consumer publishing; waiters repeat it at least every second. */
const INTEREST_MS = 3000;

/**
 * One handle's subscription to its queue's channel. Waiting is driven by
 * these messages; every waiter also re-checks on a slow timer, so a message
 * lost to a reconnect only delays it.
 *
 * Consumers publish "room", "drained" and "done:<id>" only while some handle has said it
 * waits for them, so a queue nobody waits on pays nothing per task.
 */
export class QueueSignals {
  private wantRoomUntil = 0;
  private wantJoinUntil = 0;
  private wantResultUntil = 0;
  private readonly listeners = new Set<(s: Signal) => void>();
  private subscribed: Promise<void> | undefined;

  constructor(
    private readonly subscriber: Redis,
    private readonly channel: string,
  ) {
    subscriber.on('message', (ch: string, message: string) => {
      if (ch !== this.channel) return;
      const s = message as Signal;
      if (s === 'want-room') this.wantRoomUntil = Date.now() + INTEREST_MS;
      else if (s === 'want-join') this.wantJoinUntil = Date.now() + INTEREST_MS;
      else if (s === 'want-result') this.wantResultUntil = Date.now() + INTEREST_MS;
      for (const l of [...this.listeners]) l(s);
    });
  }

  /** Subscribes once; resolves when messages will be seen. */
  start(): Promise<void> {
    this.subscribed ??= this.subscriber.subscribe(this.channel).then(() => undefined);
    return this.subscribed;
  }

  /** True while some producer waits for room. */
  get roomWanted(): boolean {
    return this.wantRoomUntil > Date.now();
  }

  /** True while some handle waits in join. */
  get joinWanted(): boolean {
    return this.wantJoinUntil > Date.now();
  }

  /** True while some handle waits for a task's result. */
  get resultWanted(): boolean {
    return this.wantResultUntil > Date.now();
  }

  /** Resolves with the first of `signals` to arrive, or `'timeout'` after `ms`. */
  next(signals: readonly Signal[], ms: number, abort?: AbortSignal): Promise<Signal | 'timeout'> {
    return new Promise((resolve) => {
      const done = (s: Signal | 'timeout'): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        abort?.removeEventListener('abort', onAbort);
        resolve(s);
      };
      const listener = (s: Signal): void => {
        if (signals.includes(s)) done(s);
      };
      const onAbort = (): void => done('timeout');
      const timer = setTimeout(() => done('timeout'), ms);
      this.listeners.add(listener);
      abort?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Calls `fn` for every signal until the returned function is called. */
  on(fn: (s: Signal) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/**
 * The slow safety re-check schedule of a waiter: quick at first (a wake-up
 * can race the announcement that asked for it), then once a second.
 */
export function recheckDelay(round: number): number {
  return Math.min(50 * 2 ** round, 1000);
}
