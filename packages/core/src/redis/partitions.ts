import calculateSlot from 'cluster-key-slot';

/**
 * How a partitioned queue names its tasks: partition i's job n is `i.n` to the user (job ids are
 * per partition); a dedup id (never a number) and an ordering key pick their partition by hash,
 * so the same id or key always lands in the same partition. An unpartitioned queue uses BullMQ's
 * ids as they are.
 */
export function partitionOfKey(key: string, partitions: number): number {
  return partitions === 1 ? 0 : calculateSlot(key) % partitions;
}

/** The id the user sees for job `jobId` of `partition`. */
export function publicId(partition: number, jobId: string, partitions: number): string {
  return partitions > 1 && /^\d+$/.test(jobId) ? `${partition}.${jobId}` : jobId;
}

/** Where the task named `id` lives: its partition and its job id there. */
export function locate(id: string, partitions: number): { partition: number; jobId: string } {
  if (partitions === 1) return { partition: 0, jobId: id };
  const m = /^(\d+)\.(\d+)$/.exec(id);
  if (m && Number(m[1]) < partitions) return { partition: Number(m[1]), jobId: m[2]! };
  return { partition: partitionOfKey(id, partitions), jobId: id };
}

/**
 * Partition p's share of a queue's maxsize: shares differ by at most one and add up to maxsize.
 * 0 means unbounded only when maxsize is 0: below the partition count, the partitions past the
 * first `maxsize` get no share and admit nothing (see {@link sharingPartitions}).
 */
export function quota(maxsize: number, partition: number, partitions: number): number {
  if (maxsize === 0) return 0;
  return Math.floor(maxsize / partitions) + (partition < maxsize % partitions ? 1 : 0);
}

/**
 * How many partitions admit tasks: all of them, or, when maxsize is smaller than the partition
 * count, the first `maxsize` (one task each). Puts go only to those, so the bound stays exact.
 */
export function sharingPartitions(maxsize: number, partitions: number): number {
  return maxsize > 0 && maxsize < partitions ? maxsize : partitions;
}
