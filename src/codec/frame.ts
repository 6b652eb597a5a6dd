/**
 * The envelope of every on-disk block (nodes, value blobs, logs, store info...). It lets a reader
 * tell a damaged, torn, foreign or too-new block from a good one before decoding the payload.
 *
 * Layout, little-endian, FRAME_HEADER_SIZE = 16 bytes then the payload:
 *   0-3   magic: the ASCII bytes "SOPS" (u32 LE 0x53504F53)
 *   4-5   format version (FORMAT_VERSION)
 *   6-7   block kind (BlockKind)
 *   8-11  payload length
 *   12-15 CRC-32/IEEE of bytes 0-11 followed by the payload
 * An all-zero (sparse, never written) block is not a frame: the magic is non-zero. Callers that
 * treat such a block as "empty" use decodeFrameOrEmpty.
 */
import { corrupt, invalid } from '../errors/sop-error.js';
import { ByteWriter } from './bytes.js';
import { crc32, crc32Update } from './crc32.js';

export const FRAME_MAGIC = 0x53504f53;
export const FORMAT_VERSION = 1;
export const FRAME_HEADER_SIZE = 16;

export const BlockKind = {
  Node: 1,
  Value: 2,
  StoreInfo: 3,
  TxLog: 4,
  PriorityLog: 5,
  StoreList: 6,
  Cow: 7,
  DbInfo: 8,
  /** One erasure-coded shard of a node or value blob (src/ec/shard-format.ts). Kinds are append-only. */
  EcShard: 9,
  /** A drive's replication status (src/replication/status.ts). */
  ReplicationStatus: 10,
  /** One journal record: a committed transaction's blobs and sector after-images (src/journal/record.ts). */
  Journal: 11,
} as const;
export type BlockKind = (typeof BlockKind)[keyof typeof BlockKind];

const KIND_NAMES = new Map<number, string>(Object.entries(BlockKind).map(([name, kind]) => [kind, name]));

export function blockKindName(kind: number): string {
  return KIND_NAMES.get(kind) ?? `unknown kind ${kind}`;
}

export function encodeFrame(kind: BlockKind, payload: Uint8Array): Uint8Array {
  const w = beginFrame(payload.length);
  w.raw(payload);
  return endFrame(w, kind);
}

/** A writer with the header reserved, so a payload can be framed without an extra copy. */
export function beginFrame(payloadCapacity = 240): ByteWriter {
  const w = new ByteWriter(FRAME_HEADER_SIZE + payloadCapacity);
  w.raw(new Uint8Array(FRAME_HEADER_SIZE));
  return w;
}

/** Completes a writer from beginFrame into a framed block. */
export function endFrame(w: ByteWriter, kind: BlockKind): Uint8Array {
  if (!KIND_NAMES.has(kind)) throw invalid(`unknown block kind ${String(kind)}`);
  const out = w.finish();
  const payloadLength = out.length - FRAME_HEADER_SIZE;
  if (payloadLength < 0) throw invalid('endFrame: writer was not started with beginFrame');
  if (payloadLength > 0xffffffff) throw invalid(`block payload of ${payloadLength} bytes is too large`);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint16(4, FORMAT_VERSION, true);
  view.setUint16(6, kind, true);
  view.setUint32(8, payloadLength, true);
  view.setUint32(12, frameCrc(out), true);
  return out;
}

function frameCrc(block: Uint8Array): number {
  return crc32Update(crc32(block, 0, 12), block, FRAME_HEADER_SIZE, block.length);
}

/** The payload (a view into `bytes`) of a valid frame of `expectedKind`; CORRUPT otherwise. */
export function decodeFrame(bytes: Uint8Array, expectedKind: BlockKind, what: string): Uint8Array {
  if (bytes.length < FRAME_HEADER_SIZE) throw corrupt(`${what}: block too short (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== FRAME_MAGIC) throw corrupt(`${what}: not a sop-ts block (bad magic)`);
  const version = view.getUint16(4, true);
  if (version > FORMAT_VERSION) {
    throw corrupt(`${what}: format version ${version} is newer than this sop-ts (supports ${FORMAT_VERSION})`);
  }
  if (version < 1) throw corrupt(`${what}: invalid format version ${version}`);
  const length = view.getUint32(8, true);
  const actual = bytes.length - FRAME_HEADER_SIZE;
  if (length > actual) throw corrupt(`${what}: truncated block (payload ${length} bytes, only ${actual} present)`);
  if (length < actual) throw corrupt(`${what}: ${actual - length} trailing bytes after the block`);
  if (view.getUint32(12, true) !== frameCrc(bytes)) throw corrupt(`${what}: checksum mismatch`);
  const kind = view.getUint16(6, true);
  if (kind !== expectedKind) {
    throw corrupt(`${what}: expected a ${blockKindName(expectedKind)} block, found ${blockKindName(kind)}`);
  }
  return bytes.subarray(FRAME_HEADER_SIZE);
}

/**
 * The kind of a valid frame of any kind; CORRUPT otherwise. For scrubbers that check every
 * block of a folder without knowing what each one holds (`sop verify`).
 */
export function checkAnyFrame(bytes: Uint8Array, what: string): BlockKind {
  if (bytes.length < FRAME_HEADER_SIZE) throw corrupt(`${what}: block too short (${bytes.length} bytes)`);
  const kind = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(6, true);
  // An unknown kind is checked as a Node: decodeFrame then names its first problem (magic, CRC... or the kind).
  const expected = (KIND_NAMES.has(kind) ? kind : BlockKind.Node) as BlockKind;
  decodeFrame(bytes, expected, what);
  return expected;
}

const JSON_TEXT = new TextEncoder();
const JSON_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A small JSON document (database info, replication status) as one framed block. */
export function encodeJsonFrame(kind: BlockKind, value: unknown): Uint8Array {
  return encodeFrame(kind, JSON_TEXT.encode(JSON.stringify(value)));
}

/** The JSON document of a valid frame of `kind`; CORRUPT when the frame or the JSON is bad (its shape is the caller's to check). */
export function decodeJsonFrame<T>(bytes: Uint8Array, kind: BlockKind, where: string): T {
  try {
    return JSON.parse(JSON_UTF8.decode(decodeFrame(bytes, kind, where))) as T;
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof TypeError) throw corrupt(`${where}: not valid JSON`);
    throw error;
  }
}

/** Like decodeFrame, but a zero-length or all-zero block (sparse, never written) yields null. */
export function decodeFrameOrEmpty(bytes: Uint8Array, expectedKind: BlockKind, what: string): Uint8Array | null {
  return isAllZero(bytes) ? null : decodeFrame(bytes, expectedKind, what);
}

export function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
