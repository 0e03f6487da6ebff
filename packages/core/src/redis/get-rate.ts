/**
 * The window, in ms, over which a handle counts its gets: it fetches ahead at most as many tasks as
 * its gets took in the last window (or the one before), so that what it fetches ahead is claimed
 * within about that long, well before the stash hands it back (see PrefetchStash).
 */
const GET_WINDOW_MS = 50;

/** How many gets a consuming handle made lately: what bounds the tasks it fetches ahead. */
export class GetRate {
  /** Gets in the current window, and in the one before it. */
  private now = 0;
  private before = 0;
  private windowStart = 0;

  count(): void {
    this.roll(Date.now());
    this.now++;
  }

  /** Gets in the last window or two. */
  recent(): number {
    this.roll(Date.now());
    return Math.max(this.now, this.before);
  }

  private roll(t: number): void {
    if (t - this.windowStart < GET_WINDOW_MS) return;
    this.before = t - this.windowStart < 2 * GET_WINDOW_MS ? this.now : 0;
    this.now = 0;
    this.windowStart = t;
  }
}
