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

/**
 * The turn over a handle's partitions, so that consumers take from them in turn and none is
 * starved: the pump asks the next one not found empty, and a call acknowledging to a partition
 * reserves only when it is that partition's turn (else a consumer loop would stay on the partition
 * of its first task until it is empty).
 */
export class PartitionTurn {
  private rr = 0;

  /** The next partition not found empty, from the turn on (the turn passes it); undefined when all are. */
  next(parts: readonly PartitionState[]): number | undefined {
    for (let i = 0; i < parts.length; i++) {
      const p = (this.rr + i) % parts.length;
      if (!parts[p]!.drained) {
        this.rr = (p + 1) % parts.length;
        return p;
      }
    }
    return undefined;
  }

  /**
   * Whether `partition` may reserve now: no other partition was asked (the pump gave it the turn),
   * and it comes before any other not found empty (the turn then passes it).
   */
  claim(parts: readonly PartitionState[], partition: number): boolean {
    if (parts.some((p, i) => i !== partition && p.requested)) return false;
    for (let i = 0; i < parts.length; i++) {
      const p = (this.rr + i) % parts.length;
      if (p === partition) {
        this.rr = (p + 1) % parts.length;
        return true;
      }
      if (!parts[p]!.drained) return false;
    }
    return true;
  }
}
