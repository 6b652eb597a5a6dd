import { isWellFormedString } from '../../codec/bytes.js';
import { corrupt, invalid } from '../../errors/sop-error.js';

/** 1 MiB: one blob per chunk keeps file counts low for large values and a partial update cheap. */
export const DEFAULT_CHUNK_SIZE = 1 << 20;
/** A chunk is held in memory whole while it is read or written: 64 MiB bounds that. */
export const MAX_CHUNK_SIZE = 64 << 20;
/** Value names live in B-tree keys (main tree and every chunk key): kept short. */
export const MAX_VALUE_NAME = 1024;

export interface StreamStoreOptions {
  /** Bytes per chunk, 1..64 MiB (default 1 MiB); fixed when the store is created. */
  chunkSize?: number;
}

/** Checks the caller's options before anything is written; returns the chunk size asked for, if any. */
export function checkStreamOptions(options: unknown): number | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalid('stream store options must be an object');
  for (const key of Object.keys(options)) if (key !== 'chunkSize') throw invalid(`unknown stream store option ${JSON.stringify(key)}`);
  const size = (options as StreamStoreOptions).chunkSize;
  if (size === undefined) return undefined;
  if (!isChunkSize(size)) throw invalid(`chunkSize must be an integer in 1..${MAX_CHUNK_SIZE}, got ${String(size)}`);
  return size;
}

/** The chunk size stored with the store at creation; anything else on disk is corruption. */
export function chunkSizeOf(layer: Record<string, unknown>, store: string): number {
  const size = layer.chunkSize;
  if (!isChunkSize(size)) throw corrupt(`stream store ${store}: malformed layer options ${JSON.stringify(layer)}`);
  return size;
}

function isChunkSize(size: unknown): size is number {
  return Number.isSafeInteger(size) && (size as number) >= 1 && (size as number) <= MAX_CHUNK_SIZE;
}

/** A value's name: a non-empty, well-formed string of at most MAX_VALUE_NAME UTF-16 units. */
export function checkValueName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_VALUE_NAME || !isWellFormedString(name)) {
    throw invalid(`a stream value name must be a well-formed string of 1..${MAX_VALUE_NAME} characters, got ${describe(name)}`);
  }
  return name;
}

/** A byte offset or length: a safe integer >= 0. */
export function checkByteCount(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw invalid(`${what} must be an integer >= 0, got ${describe(value)}`);
  return value as number;
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v) : typeof v === 'bigint' ? `${v}n` : String(v);
}
