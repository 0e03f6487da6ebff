/**
 * What a handle has seen of each partition's ledger, held outside Redis so that Redis going back
 * in time cannot take it along: the highest total of tasks ever put (a failover to a replica that
 * had not caught up makes it go down, and the tasks put in between are gone), and the losses
 * recorded when the handle first looked (a loss recorded after that is one its joins must hear of).
 */
export class LossWatch {
  private readonly addedHigh: number[];
  private readonly baseLost: (number | undefined)[];

  constructor(partitions: number) {
    this.addedHigh = new Array<number>(partitions).fill(0);
    this.baseLost = new Array<number | undefined>(partitions).fill(undefined);
  }

  /**
   * A reply showed the partition's totals. Resolves to how many tasks Redis went back on (0 when
   * none): the caller records that loss in Redis, where every joiner sees it.
   */
  observe(partition: number, added: number, lostTotal: number): number {
    this.baseLost[partition] ??= lostTotal;
    const high = this.addedHigh[partition]!;
    this.addedHigh[partition] = added;
    return added < high ? high - added : 0;
  }

  /** This handle's caller was told of every loss up to `lostTotal`: later joins hear only of newer ones. */
  told(partition: number, lostTotal: number): void {
    this.baseLost[partition] = Math.max(this.baseLost[partition] ?? 0, lostTotal);
  }

  /** Losses recorded on the partition since this handle first looked (or was last told). */
  lostSince(partition: number, lostTotal: number): number {
    this.baseLost[partition] ??= lostTotal;
    return Math.max(0, lostTotal - this.baseLost[partition]!);
  }
}
