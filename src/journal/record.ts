import { BlockKind, beginFrame, decodeFrame, endFrame } from '../codec/frame.js';
import { SopError, corrupt } from '../errors/sop-error.js';
import type { StoreInfo } from '../store/store-info.js';
import { joinPath, isStoredName } from '../util/paths.js';

/**
 * A journal record (spec JNL-1): everything one committed transaction writes, as one CRC-framed
 * block appended to `translogs/journal.wal`. Once it is durable the transaction is committed, and replaying it
 * onto any state the folder can be in after a crash gives the state right after that commit:
 * new blobs are whole images, registry sectors are whole after-images (never a delta that
 * depends on what a torn write left), store infos are whole.
 *
 * Layout of the frame's payload: u32 header length, the header as JSON, then the blob bytes and
 * the sector bytes in the order the header lists them.
 */
export interface JournalStore {
  readonly name: string;
  /** Identifies this incarnation of the store: a store removed and created again has another. */
  readonly rootId: string;
  /** The store info after the commit, when the commit changed its count; null otherwise. */
  readonly info: StoreInfo | null;
}

export interface JournalBlob {
  readonly store: string;
  readonly id: string;
  /** The whole blob, or with `patch` only its new bytes. */
  readonly bytes: Uint8Array;
  /**
   * A leaf logged as a patch of the blob it replaces (`base`, whose bytes were known exactly at
   * commit time): ops are [offset in base, length] copies and [-1, length] runs of `bytes`.
   */
  readonly patch?: { readonly base: string; readonly ops: readonly number[] };
  /**
   * A leaf logged as item changes of the blob it replaces (`base`, a blob of this journal cycle
   * that replay rebuilds first), node `node`: ops are [index in the base's items, count] copies
   * and [-1, count] runs of items encoded in `bytes` (node-codec.ts, LeafItemPatch).
   */
  readonly items?: { readonly base: string; readonly node: string; readonly ops: readonly number[] };
}

export interface JournalSector {
  readonly store: string;
  readonly segment: number;
  readonly sector: number;
  /** The whole sector, or with `ops` only its new bytes. */
  readonly bytes: Uint8Array;
  /**
   * A sector logged as a patch of its image in the record before, in this journal cycle, that
   * changed it (replay has just rebuilt that image): ops as for blob patches.
   */
  readonly ops?: readonly number[];
}

export interface JournalRecord {
  readonly tid: string;
  readonly seq: number;
  readonly stores: readonly JournalStore[];
  readonly blobs: readonly JournalBlob[];
  readonly sectors: readonly JournalSector[];
  /** Blobs the commit made obsolete: deleted after it, and again by every replay. */
  readonly obsolete: ReadonlyArray<{ store: string; id: string }>;
}

interface Header {
  tid: string;
  seq: number;
  stores: JournalStore[];
  blobs: Array<{ store: string; id: string; length: number; patch?: { base: string; ops: number[] }; items?: { base: string; node: string; ops: number[] } }>;
  sectors: Array<{ store: string; segment: number; sector: number; length: number; ops?: number[] }>;
  obsolete: Array<{ store: string; id: string }>;
}

const TEXT = new TextEncoder();
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The journal files (JNL-3): appends go to one of the two, from offset 0, until a checkpoint
 * starts; the commits after that go to the other one while the checkpoint writes what the first
 * one's records describe. Each holds its records from offset 0, then stale bytes.
 */
export function journalPaths(dir: string): readonly [string, string] {
  return [joinPath(dir, 'journal.wal'), joinPath(dir, 'journal.2.wal')];
}

export function encodeRecord(record: JournalRecord): Uint8Array {
  const header: Header = {
    tid: record.tid,
    seq: record.seq,
    stores: [...record.stores],
    blobs: record.blobs.map((b) => ({
      store: b.store,
      id: b.id,
      length: b.bytes.length,
      ...(b.patch ? { patch: { base: b.patch.base, ops: [...b.patch.ops] } } : {}),
      ...(b.items ? { items: { base: b.items.base, node: b.items.node, ops: [...b.items.ops] } } : {}),
    })),
    sectors: record.sectors.map((s) => ({ store: s.store, segment: s.segment, sector: s.sector, length: s.bytes.length, ...(s.ops ? { ops: [...s.ops] } : {}) })),
    obsolete: [...record.obsolete],
  };
  const json = TEXT.encode(JSON.stringify(header));
  const bodyLength = record.blobs.reduce((n, b) => n + b.bytes.length, 0) + record.sectors.reduce((n, s) => n + s.bytes.length, 0);
  // One buffer, filled in place: records of big transactions run to megabytes (bench profile).
  const w = beginFrame(4 + json.length + bodyLength);
  w.u32(json.length);
  w.raw(json);
  for (const part of record.blobs) w.raw(part.bytes);
  for (const part of record.sectors) w.raw(part.bytes);
  return endFrame(w, BlockKind.Journal);
}

/** null for a torn or damaged record: its commit point was never reached (spec JNL-1). */
export function decodeRecord(bytes: Uint8Array, where: string): JournalRecord | null {
  try {
    const payload = decodeFrame(bytes, BlockKind.Journal, where);
    if (payload.length < 4) throw corrupt(`${where}: short journal record`);
    const jsonLength = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
    const header = parseHeader(payload.subarray(4, 4 + jsonLength), where);
    let at = 4 + jsonLength;
    const take = (length: number): Uint8Array => {
      if (at + length > payload.length) throw corrupt(`${where}: journal record body is short`);
      const part = payload.slice(at, at + length);
      at += length;
      return part;
    };
    const blobs = header.blobs.map((b) => ({ store: b.store, id: b.id, bytes: take(b.length), ...(b.patch ? { patch: b.patch } : {}), ...(b.items ? { items: b.items } : {}) }));
    const sectors = header.sectors.map((s) => ({ store: s.store, segment: s.segment, sector: s.sector, bytes: take(s.length), ...(s.ops ? { ops: s.ops } : {}) }));
    if (at !== payload.length) throw corrupt(`${where}: journal record has trailing bytes`);
    return { tid: header.tid, seq: header.seq, stores: header.stores, blobs, sectors, obsolete: header.obsolete };
  } catch (error) {
    if (SopError.is(error, 'CORRUPT')) return null;
    throw error;
  }
}

const BLOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function validPatch(patch: { base?: unknown; ops?: unknown }): boolean {
  return typeof patch.base === 'string' && BLOB_ID.test(patch.base) && validOps(patch.ops);
}

function validItemPatch(patch: { base?: unknown; node?: unknown; ops?: unknown }): boolean {
  return typeof patch.base === 'string' && BLOB_ID.test(patch.base) && typeof patch.node === 'string' && BLOB_ID.test(patch.node) && validOps(patch.ops);
}

function validOps(ops: unknown): boolean {
  return Array.isArray(ops) && ops.length % 2 === 0 && ops.every((x, i) => Number.isSafeInteger(x) && (i % 2 === 1 ? x >= 0 : x >= -1));
}

function isStoreName(part: { name?: unknown; store?: unknown }): boolean {
  return isStoredName(part.name ?? part.store);
}

function parseHeader(bytes: Uint8Array, where: string): Header {
  let header: Header;
  try {
    header = JSON.parse(UTF8.decode(bytes)) as Header;
  } catch {
    throw corrupt(`${where}: journal header is not valid JSON`);
  }
  const ok =
    typeof header === 'object' && header !== null && typeof header.tid === 'string' && Number.isSafeInteger(header.seq) &&
    Array.isArray(header.stores) && Array.isArray(header.blobs) && Array.isArray(header.sectors) && Array.isArray(header.obsolete) &&
    header.blobs.every((b) => Number.isSafeInteger(b.length) && b.length >= 0) &&
    header.sectors.every((s) => Number.isSafeInteger(s.length) && s.length >= 0 && Number.isSafeInteger(s.segment) && Number.isSafeInteger(s.sector)) &&
    // Replay turns these into paths: nothing in a record may point outside the store folders.
    [...header.stores, ...header.blobs, ...header.sectors, ...header.obsolete].every((part) => isStoreName(part as { name?: unknown; store?: unknown })) &&
    [...header.blobs, ...header.obsolete].every((b) => BLOB_ID.test(b.id)) &&
    header.blobs.every((b) => (b.patch === undefined || validPatch(b.patch)) && (b.items === undefined || (b.patch === undefined && validItemPatch(b.items)))) &&
    header.sectors.every((s) => s.ops === undefined || validOps(s.ops));
  if (!ok) throw corrupt(`${where}: malformed journal header`);
  return header;
}
