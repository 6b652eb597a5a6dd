import { corrupt, invalid, toSopError } from '../errors/sop-error.js';
import { reedSolomon } from './native.js';
import { type Shard, decodeShard, encodeShard, shardSize } from './shard-format.js';

/** What check() found in one shard file: the shard, or why it cannot be used. */
export type ShardState = { readonly shard: Shard; readonly problem: null } | { readonly shard: null; readonly problem: string };

/**
 * Reed-Solomon over D data and P parity shards of one blob. The code is systematic: data shards
 * are the blob itself, cut in D equal slices (the last zero padded), so a read with every data
 * shard intact decodes nothing. Any D valid shards rebuild the rest (spec EC-1). A shard is
 * valid only when its frame CRC and self-describing header check out; an invalid shard is a
 * missing one and is never fed to the decoder, so no read returns wrong bytes.
 */
export class RsCodec {
  private readonly context: Buffer;

  constructor(
    readonly dataShards: number,
    readonly parityShards: number,
  ) {
    if (!(Number.isInteger(dataShards) && dataShards >= 1 && dataShards <= reedSolomon.MAX_K)) {
      throw invalid(`dataShards must be an integer in 1..${reedSolomon.MAX_K}, got ${String(dataShards)}`);
    }
    if (!(Number.isInteger(parityShards) && parityShards >= 1 && parityShards <= reedSolomon.MAX_M)) {
      throw invalid(`parityShards must be an integer in 1..${reedSolomon.MAX_M}, got ${String(parityShards)}`);
    }
    this.context = reedSolomon.create(dataShards, parityShards);
  }

  get total(): number {
    return this.dataShards + this.parityShards;
  }

  /** The D+P shard files of a blob, shard i at position i. */
  async encode(blobId: string, data: Uint8Array): Promise<Uint8Array[]> {
    return (await this.encodeShards(blobId, data)).map(encodeShard);
  }

  /** The blob from its shard files (null: missing); CORRUPT unless D of them are valid. */
  async decode(blobId: string, files: readonly (Uint8Array | null)[]): Promise<Uint8Array> {
    return this.decodeShards(this.check(blobId, files).map((s) => s.shard));
  }

  async encodeShards(blobId: string, data: Uint8Array): Promise<Shard[]> {
    if (data.length > 0xffffffff) throw invalid(`blob ${blobId}: ${data.length} bytes is too large to erasure code`);
    const size = shardSize(data.length, this.dataShards);
    const buffer = Buffer.alloc(size * this.dataShards);
    buffer.set(data);
    const parity = Buffer.alloc(size * this.parityShards);
    await this.run(range(0, this.dataShards), range(this.dataShards, this.total), buffer, parity);
    return range(0, this.total).map((index) => this.shardOf(blobId, data.length, index, buffer, parity, size));
  }

  /**
   * Validates shard files of one blob: frame CRC, header naming this blob, this index and this
   * D+P, and a blob length the valid shards agree on (a shard outvoted on it is not used).
   */
  check(blobId: string, files: readonly (Uint8Array | null)[]): ShardState[] {
    const states: ShardState[] = files.map((file, index) => {
      if (!file) return { shard: null, problem: 'missing' };
      try {
        const shard = decodeShard(file, `shard ${index} of blob ${blobId}`);
        if (shard.blobId !== blobId) return { shard: null, problem: `belongs to blob ${shard.blobId}` };
        if (shard.index !== index) return { shard: null, problem: `holds shard ${shard.index}` };
        if (shard.dataShards !== this.dataShards || shard.parityShards !== this.parityShards) {
          return { shard: null, problem: `coded ${shard.dataShards}+${shard.parityShards}, not ${this.dataShards}+${this.parityShards}` };
        }
        return { shard, problem: null };
      } catch (error) {
        return { shard: null, problem: error instanceof Error ? error.message : String(error) };
      }
    });
    const votes = new Map<number, number>();
    for (const s of states) if (s.shard) votes.set(s.shard.blobLength, (votes.get(s.shard.blobLength) ?? 0) + 1);
    const length = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    return states.map((s) => (s.shard && s.shard.blobLength !== length ? { shard: null, problem: `blob length ${s.shard.blobLength} disagrees with the other shards` } : s));
  }

  /** The blob from valid shards (null: missing or invalid); CORRUPT with fewer than D. */
  async decodeShards(shards: readonly (Shard | null)[]): Promise<Uint8Array> {
    const data = range(0, this.dataShards);
    const full = await this.fill(shards, data.filter((i) => !shards[i]));
    const first = full[0]!;
    const out = new Uint8Array(shardSize(first.blobLength, this.dataShards) * this.dataShards);
    for (const i of data) out.set(full[i]!.bytes, i * full[i]!.bytes.length);
    return out.subarray(0, first.blobLength);
  }

  /** Every shard: the valid ones as given, the missing ones rebuilt (repair, spec EC-3). */
  async rebuild(shards: readonly (Shard | null)[]): Promise<Shard[]> {
    const full = await this.fill(shards, range(0, this.total).filter((i) => !shards[i]));
    return full.map((s) => s!);
  }

  /** True when the parity shards are what the data shards encode to (`sop verify`). */
  async parityConsistent(shards: readonly Shard[]): Promise<boolean> {
    const first = shards[0]!;
    const data = new Uint8Array(shardSize(first.blobLength, this.dataShards) * this.dataShards);
    for (let i = 0; i < this.dataShards; i++) data.set(shards[i]!.bytes, i * first.bytes.length);
    const again = await this.encodeShards(first.blobId, data.subarray(0, first.blobLength));
    return range(this.dataShards, this.total).every((i) => Buffer.compare(again[i]!.bytes, shards[i]!.bytes) === 0);
  }

  /** `shards` with those at `targets` computed from the valid ones. */
  private async fill(shards: readonly (Shard | null)[], targets: number[]): Promise<(Shard | null)[]> {
    const present = range(0, this.total).filter((i) => shards[i]);
    if (present.length < this.dataShards) {
      throw corrupt(`blob has ${present.length} valid shards of ${this.total}, needs ${this.dataShards}`);
    }
    if (targets.length === 0) return [...shards];
    const model = shards[present[0]!]!;
    const size = model.bytes.length;
    const buffer = Buffer.alloc(size * this.dataShards);
    const parity = Buffer.alloc(size * this.parityShards);
    for (const i of present) this.slot(i, buffer, parity, size).set(shards[i]!.bytes);
    await this.run(present, targets, buffer, parity);
    return range(0, this.total).map((i) => shards[i] ?? (targets.includes(i) ? this.shardOf(model.blobId, model.blobLength, i, buffer, parity, size) : null));
  }

  private shardOf(blobId: string, blobLength: number, index: number, buffer: Buffer, parity: Buffer, size: number): Shard {
    return { blobId, blobLength, index, dataShards: this.dataShards, parityShards: this.parityShards, bytes: this.slot(index, buffer, parity, size) };
  }

  /** Shard `index`'s bytes inside the addon's two buffers (data shards, then parity shards). */
  private slot(index: number, buffer: Buffer, parity: Buffer, size: number): Uint8Array {
    const source = index < this.dataShards ? buffer : parity;
    const at = (index < this.dataShards ? index : index - this.dataShards) * size;
    return new Uint8Array(source.buffer, source.byteOffset + at, size);
  }

  private run(sources: readonly number[], targets: readonly number[], buffer: Buffer, parity: Buffer): Promise<void> {
    const mask = (indexes: readonly number[]): number => indexes.reduce((m, i) => m | (1 << i), 0);
    return new Promise((resolve, reject) => {
      const done = (error?: Error | null): void => (error ? reject(toSopError(error, 'reed-solomon')) : resolve());
      try {
        reedSolomon.encode(this.context, mask(sources), mask(targets), buffer, 0, buffer.length, parity, 0, parity.length, done);
      } catch (error) {
        reject(toSopError(error, 'reed-solomon'));
      }
    });
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
