/**
 * CRC-32/IEEE (the zlib / Go `crc32.ChecksumIEEE` polynomial). Every on-disk block carries one so
 * that torn writes and bit rot are detected before a byte of the block is trusted.
 * Slice-by-8: the checksum runs over every block read and written, so it must not be the bottleneck.
 */
import * as zlib from 'node:zlib';
import { invalid } from '../errors/sop-error.js';

/**
 * zlib's CRC-32 (the same polynomial, same continuation rule), where the runtime has it (Node
 * >= 20.15): several times faster than the tables below on node-sized blocks. A pure function
 * of its input, not I/O: nothing of the outside world enters through it.
 */
const nativeCrc32: ((data: Uint8Array, value?: number) => number) | undefined =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (zlib as unknown as { crc32: (d: Uint8Array, v?: number) => number }).crc32 : undefined;

/** Below this many bytes the table loop wins over a native call and a subarray. */
const NATIVE_MIN = 512;

const POLY = 0xedb88320;

/** Eight 256-entry tables back to back: TABLES[k * 256 + b]. */
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) {
      const prev = t[(k - 1) * 256 + i]!;
      t[k * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

/** CRC-32 of `bytes[start, end)`, unsigned. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc32Update(0, bytes, start, end);
}

/**
 * Continues a CRC: `crc32Update(crc32(a), b)` equals the CRC of `a` followed by `b`. Lets the frame
 * checksum cover a header and a payload that are not contiguous without copying them together.
 */
export function crc32Update(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= bytes.length)) {
    throw invalid(`crc32: bad range [${start}, ${end}) for ${bytes.length} bytes`);
  }
  if (nativeCrc32 !== undefined && end - start >= NATIVE_MIN) {
    return nativeCrc32(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), crc >>> 0) >>> 0;
  }
  const t = TABLES;
  let c = ~crc;
  let i = start;
  for (const stop = end - 8; i <= stop; i += 8) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c =
      t[1792 + (c & 0xff)]! ^
      t[1536 + ((c >>> 8) & 0xff)]! ^
      t[1280 + ((c >>> 16) & 0xff)]! ^
      t[1024 + (c >>> 24)]! ^
      t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
