/** What crash-child.ts writes, so that the parent can tell exactly what a batch left. */
export function batchVector(b: number, i: number): Float32Array {
  let s = (b * 1000 + i + 1) >>> 0;
  return Float32Array.from({ length: 8 }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** Whether v<b>-<i> exists once batches 0..last committed (the removal comes with batch b + 3). */
export function expectedAfter(last: number, b: number, i: number): boolean {
  return b <= last && !(i % 2 === 0 && b + 3 <= last);
}
