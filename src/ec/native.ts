import { createRequire } from 'node:module';

/**
 * The native Reed-Solomon addon (@ronomon/reed-solomon, Cauchy RS over GF(2^w), run in libuv's
 * thread pool). It is a CommonJS package whose main is a `.node` file, which ESM cannot import,
 * hence createRequire. Only rs-codec.ts uses it.
 */
export interface ReedSolomonAddon {
  readonly MAX_K: number;
  readonly MAX_M: number;
  /** An encoding context for k data and m parity shards; reusable concurrently. */
  create(k: number, m: number): Buffer;
  /**
   * Computes the shards flagged in `targets` (bit i = shard i; data shards 0..k-1, parity k..k+m-1)
   * from those flagged in `sources` (at least k). Shards are consecutive in `buffer` (data) and
   * `parity`, each `bufferSize / k` bytes, a multiple of 8.
   */
  encode(
    context: Buffer,
    sources: number,
    targets: number,
    buffer: Buffer,
    bufferOffset: number,
    bufferSize: number,
    parity: Buffer,
    parityOffset: number,
    paritySize: number,
    callback: (error?: Error | null) => void,
  ): void;
}

export const reedSolomon = createRequire(import.meta.url)('@ronomon/reed-solomon') as ReedSolomonAddon;
