import { corrupt } from '../../errors/sop-error.js';

/**
 * What the main tree holds per value name. Chunks live in the `chunks` part under
 * `[name, gen, index]`: a write stream fills a fresh generation and switches `gen` to it only
 * when it finishes, so no reader ever sees half a stream, and the old generation is removed in
 * the same transaction. A generation a stream started is listed in `pending` until it finishes;
 * one still listed by a committed transaction was abandoned (its transaction ended before the
 * stream did) and is reclaimed by the next change to the name (spec STREAM-4).
 */
export interface Meta {
  /** Bytes in the value (0 when `gen` is null). */
  size: number;
  /** The generation holding the value's chunks; null: no value (only pending streams). */
  gen: number | null;
  /** The next generation to hand out. */
  nextGen: number;
  /** Generations of write streams started and not finished. */
  pending: number[];
}

/** The B-tree key of chunk `index` of generation `gen` of `name`. */
export type ChunkKey = [string, number, number];

export function chunkKey(name: string, gen: number, index: number): ChunkKey {
  return [name, gen, index];
}

/** Chunks of a value of `size` bytes. */
export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** Length of chunk `index` of a value of `size` bytes. */
export function chunkLength(size: number, chunkSize: number, index: number): number {
  return Math.max(0, Math.min(chunkSize, size - index * chunkSize));
}

export function emptyMeta(): Meta {
  return { size: 0, gen: null, nextGen: 0, pending: [] };
}

/** A meta record read back from the tree; anything malformed is corruption, never guessed at. */
export function checkMeta(raw: unknown, name: string): Meta {
  const m = raw as Meta;
  const isGen = (g: unknown): boolean => Number.isSafeInteger(g) && (g as number) >= 0;
  const ok =
    typeof m === 'object' && m !== null &&
    Number.isSafeInteger(m.size) && m.size >= 0 &&
    (m.gen === null || isGen(m.gen)) && isGen(m.nextGen) &&
    Array.isArray(m.pending) && m.pending.every(isGen) &&
    (m.gen !== null || m.size === 0);
  if (!ok) throw corrupt(`stream value ${JSON.stringify(name)}: malformed metadata`);
  return { size: m.size, gen: m.gen, nextGen: m.nextGen, pending: [...m.pending] };
}
