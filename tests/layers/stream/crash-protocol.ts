/** What crash-child.ts writes, shared with crash.test.ts. */
export const CHUNK = 4096;
/** The size of value k: a few chunks, never a whole number of them (the last chunk is partial). */
export const sizeOf = (k: number): number => CHUNK * (3 + (k % 5)) + 123 * k;
