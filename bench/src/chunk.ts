/** `count` items made by `make`, in arrays of at most `size`: the batches of a bulk enqueue. */
export function chunk<T>(count: number, size: number, make: (i: number) => T): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < count; i += size) out.push(Array.from({ length: Math.min(size, count - i) }, (_, j) => make(i + j)));
  return out;
}
