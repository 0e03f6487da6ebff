/**
 * What the consumer knows of one partition. A partition is asked (`requested`) when gets lack
 * tasks, has `inFlight` tasks coming in a call on its way, and is `drained` once a call came back
 * with fewer than wanted: then it is left alone until a `task` signal, the next delayed task's due
 * time (`nextDue`), or the idle re-check (`waking`: its next call also does the chores at once).
 */
export interface PartitionState {
  requested: boolean;
  /** Tasks asked for in the call on its way: for waiting gets and fetched ahead. */
  inFlight: number;
  /** Of those, the ones fetched ahead. */
  aheadInFlight: number;
  drained: boolean;
  waking: boolean;
  /** When its next delayed task is due (Redis's clock, ms), 0 for none. */
  nextDue: number;
  /** Its shutdown mode, "" when open. */
  shutdown: string;
  /** Ready, delayed and stalled tasks it had at its last drained call. */
  pending: number;
}

/** The state of `k` partitions no call has looked at yet: each is looked at afresh, chores and all. */
export function freshPartitions(k: number): PartitionState[] {
  return Array.from({ length: k }, () => ({ requested: false, inFlight: 0, aheadInFlight: 0, drained: false, waking: true, nextDue: 0, shutdown: '', pending: 0 }));
}

/** Every partition is to be looked at afresh (after an idle wait, or for getNowait). */
export function wakeAll(parts: PartitionState[]): void {
  for (const p of parts) {
    p.drained = false;
    p.waking = true;
  }
}

/** Every partition is shut down and had nothing left at its last look. */
export function shutDownAndEmpty(parts: readonly PartitionState[]): boolean {
  return parts.every((p) => p.shutdown !== '' && p.pending === 0);
}
