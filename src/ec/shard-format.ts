import { ByteReader } from '../codec/bytes.js';
import { BlockKind, beginFrame, decodeFrame, endFrame } from '../codec/frame.js';
import { corrupt } from '../errors/sop-error.js';

/**
 * One shard file of an erasure-coded blob: a frame of kind EcShard, so a torn, rotted or foreign
 * shard fails its CRC and is treated as missing, never decoded (spec EC-1, FMT-1). The payload is
 * self-describing, so any shard found on any drive can be checked on its own:
 *
 *   0-3   blob length in bytes (u32 LE)
 *   4     shard index (0..D-1 data, D..D+P-1 parity)
 *   5     data shard count D
 *   6     parity shard count P
 *   7     blob id length n
 *   8..   blob id (n bytes, UTF-8): a shard renamed to another blob's name is rejected
 *   then  the shard bytes, shardSize(length, D) of them
 */
export interface ShardHeader {
  readonly blobId: string;
  readonly blobLength: number;
  readonly index: number;
  readonly dataShards: number;
  readonly parityShards: number;
}

export interface Shard extends ShardHeader {
  /** shardSize(blobLength, dataShards) bytes: a slice of the data (zero padded) or parity. */
  readonly bytes: Uint8Array;
}

/** The codec works on shards whose size is a positive multiple of 8 (the addon's word size). */
export function shardSize(blobLength: number, dataShards: number): number {
  return Math.max(8, Math.ceil(blobLength / dataShards / 8) * 8);
}

export function encodeShard(shard: Shard): Uint8Array {
  const id = new TextEncoder().encode(shard.blobId);
  const w = beginFrame(8 + id.length + shard.bytes.length);
  w.u32(shard.blobLength);
  w.u8(shard.index);
  w.u8(shard.dataShards);
  w.u8(shard.parityShards);
  w.u8(id.length);
  w.raw(id);
  w.raw(shard.bytes);
  return endFrame(w, BlockKind.EcShard);
}

/** The shard in a shard file; CORRUPT when the frame or the header is not sound. */
export function decodeShard(file: Uint8Array, what: string): Shard {
  const r = new ByteReader(decodeFrame(file, BlockKind.EcShard, what), what);
  const blobLength = r.u32();
  const index = r.u8();
  const dataShards = r.u8();
  const parityShards = r.u8();
  const blobId = new TextDecoder('utf-8', { fatal: false }).decode(r.raw(r.u8()));
  if (dataShards < 1 || parityShards < 1 || index >= dataShards + parityShards) {
    throw corrupt(`${what}: shard ${index} of ${dataShards}+${parityShards} is impossible`);
  }
  const size = shardSize(blobLength, dataShards);
  if (r.remaining !== size) throw corrupt(`${what}: ${r.remaining} shard bytes, expected ${size}`);
  return { blobId, blobLength, index, dataShards, parityShards, bytes: r.raw(size) };
}
