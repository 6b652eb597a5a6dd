import { BlockKind, decodeFrame, encodeFrame } from '../codec/frame.js';
import { type KeyOrderSpec, validateKeyOrderSpec } from '../codec/key-order.js';
import { corrupt } from '../errors/sop-error.js';
import { isUuid } from '../util/uuid.js';

/** Persisted metadata of one store (`stores/<name>/storeinfo`), framed with a CRC. */
export interface StoreInfo {
  readonly name: string;
  readonly slotLength: number;
  readonly isUnique: boolean;
  readonly valueInNode: boolean;
  readonly keyOrder: KeyOrderSpec;
  /** The store was created with a user comparer, which must be passed again on every open. */
  readonly customComparer: boolean;
  readonly description: string;
  readonly rootId: string;
  readonly count: number;
  /** Sequence number of the last commit that wrote this info: priority-log redo skips older ones (spec REC-3). */
  readonly commitSeq: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** What the store is to users: a plain B-tree (absent) or the main tree of a layer (src/layers/). */
  readonly kind?: StoreKind;
  /** The layer's creation options (JSON), fixed for the life of the store. */
  readonly layer?: Record<string, unknown>;
}

export const STORE_KINDS = ['btree', 'vector', 'search', 'stream', 'models'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

const TEXT = new TextEncoder();
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function encodeStoreInfo(info: StoreInfo): Uint8Array {
  return encodeFrame(BlockKind.StoreInfo, TEXT.encode(JSON.stringify(info)));
}

export function decodeStoreInfo(bytes: Uint8Array, where: string): StoreInfo {
  const payload = decodeFrame(bytes, BlockKind.StoreInfo, where);
  let raw: unknown;
  try {
    raw = JSON.parse(UTF8.decode(payload));
  } catch {
    throw corrupt(`${where}: store info is not valid JSON`);
  }
  return checkStoreInfo(raw, where);
}

function checkStoreInfo(raw: unknown, where: string): StoreInfo {
  const r = raw as Record<string, unknown>;
  const ok =
    typeof r === 'object' && r !== null &&
    typeof r.name === 'string' &&
    Number.isInteger(r.slotLength) && (r.slotLength as number) >= 2 &&
    typeof r.isUnique === 'boolean' && typeof r.valueInNode === 'boolean' &&
    typeof r.customComparer === 'boolean' && typeof r.description === 'string' &&
    isUuid(r.rootId) && Number.isSafeInteger(r.count) && (r.count as number) >= 0 &&
    Number.isSafeInteger(r.commitSeq) && typeof r.createdAt === 'number' && typeof r.updatedAt === 'number' &&
    (r.kind === undefined || STORE_KINDS.includes(r.kind as StoreKind)) &&
    (r.layer === undefined || (typeof r.layer === 'object' && r.layer !== null && !Array.isArray(r.layer)));
  if (!ok) throw corrupt(`${where}: malformed store info`);
  return { ...(r as unknown as StoreInfo), keyOrder: validateKeyOrderSpec(r.keyOrder, 'disk') };
}
