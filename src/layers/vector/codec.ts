/**
 * Bytes of the vector store: vectors as little-endian float32 (what get() returns), centroids as
 * float64, list entries as the vector followed by the metadata's JSON text, and the data key
 * that orders vectors by a hash of their id (so that the first items of the data tree are a
 * uniform sample, whatever order ids were inserted in).
 */
import { invalid } from '../../errors/sop-error.js';
import { describe } from './args.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * A caller's vector as float32: Float32Array, Float64Array or number[] of the store's length,
 * every component finite once rounded to float32 (1e39 is Infinity there). Always a copy.
 */
export function toFloat32(vector: unknown, dimensions: number, what = 'vector'): Float32Array {
  let values: ArrayLike<unknown>;
  if (vector instanceof Float32Array || vector instanceof Float64Array || Array.isArray(vector)) values = vector;
  else throw invalid(`${what} must be a Float32Array, Float64Array or number[], got ${describe(vector)}`);
  if (values.length !== dimensions) throw invalid(`${what} has ${values.length} dimensions, the store has ${dimensions}`);
  const out = new Float32Array(dimensions);
  for (let i = 0; i < dimensions; i++) {
    const x = values[i];
    if (typeof x !== 'number') throw invalid(`${what}[${i}] is ${describe(x)}, not a number`);
    out[i] = x;
    if (!Number.isFinite(out[i]!)) throw invalid(`${what}[${i}] is ${x}${Number.isFinite(x) ? ' (not finite as float32)' : ''}`);
  }
  return out;
}

export function float32Bytes(v: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i]!, true);
  return out;
}

/** `count` float32s at `offset` of `bytes`, into `out` at `at` (a copy). */
export function readFloat32(bytes: Uint8Array, offset: number, count: number, out: Float32Array, at = 0): void {
  if (LITTLE_ENDIAN && (bytes.byteOffset + offset) % 4 === 0) {
    out.set(new Float32Array(bytes.buffer, bytes.byteOffset + offset, count), at);
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4);
  for (let i = 0; i < count; i++) out[at + i] = view.getFloat32(i * 4, true);
}

export function float32Of(bytes: Uint8Array, dimensions: number): Float32Array {
  const out = new Float32Array(dimensions);
  readFloat32(bytes, 0, dimensions, out);
  return out;
}

export function float64Bytes(v: Float64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  const out = new Uint8Array(v.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setFloat64(i * 8, v[i]!, true);
  return out;
}

export function readFloat64(bytes: Uint8Array, count: number, out: Float64Array, at: number): void {
  if (LITTLE_ENDIAN && bytes.byteOffset % 8 === 0) {
    out.set(new Float64Array(bytes.buffer, bytes.byteOffset, count), at);
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * 8);
  for (let i = 0; i < count; i++) out[at + i] = view.getFloat64(i * 8, true);
}

/** A list entry's value: the vector's float32 bytes, then the metadata's JSON text (empty: none). */
export function packEntry(vectorBytes: Uint8Array, metadata: string | undefined): Uint8Array {
  if (metadata === undefined) return vectorBytes;
  const text = utf8Encoder.encode(metadata);
  const out = new Uint8Array(vectorBytes.length + text.length);
  out.set(vectorBytes);
  out.set(text, vectorBytes.length);
  return out;
}

/** The metadata JSON text of a list entry (undefined: none). */
export function entryMetadata(entry: Uint8Array, dimensions: number): string | undefined {
  const start = dimensions * 4;
  return entry.length > start ? utf8Decoder.decode(entry.subarray(start)) : undefined;
}

/** Metadata as callers get it: a fresh parse, so nothing they change reaches stored or cached state. */
export function parseMetadata(text: string | undefined): unknown {
  return text === undefined ? undefined : JSON.parse(text);
}

/** Key of an id in the data tree: 8 hex digits of its hash, then the id. */
export function dataKey(id: string): string {
  return hex8(hash32(id)) + id;
}

export function idOfDataKey(key: string): string {
  return key.slice(8);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** 32-bit FNV-1a over UTF-16 code units with murmur3's finalizer: an even spread for any ids. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
