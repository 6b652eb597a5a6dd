import { STORE_KINDS, type StoreKind } from '../../store/store-info.js';
import type { KeyField } from '../../database/options.js';

/**
 * The export file, JSON lines (spec EXP-1..EXP-3):
 *   {"sop":"export","format":1,"stores":N}                                  first line
 *   {"store":"media","kind":"stream","layer":{...},"options":{...},"count":C}  then per store,
 *   [<key>,<value>]                                                          its C items in key order
 *   {"end":true,"stores":N,"items":M,"crc32":X}                              last line
 * Parts of layer stores (`media@chunks`) are stores of their own with `part` set; they follow
 * their main store (names sort that way). Keys and values are tagged JSON (json-value.ts).
 * `crc32` covers every byte before the last line; a file without it (hand-written) is accepted.
 */
export const EXPORT_FORMAT = 1;

export interface HeaderLine {
  sop: 'export';
  format: number;
  stores: number;
}

/** The options a store was created with, as `newBtree` takes them back. */
export interface StoreOptionsJson {
  slotLength: number;
  isUnique: boolean;
  valueInNode: boolean;
  keyOrder?: KeyField[];
  description: string;
}

export interface StoreLine {
  store: string;
  kind: StoreKind;
  part?: string;
  layer?: Record<string, unknown>;
  options: StoreOptionsJson;
  count: number;
}

export interface EndLine {
  end: true;
  stores: number;
  items: number;
  crc32?: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** A line's shape, or a message saying what is wrong with it. */
export function checkHeader(j: unknown): HeaderLine | string {
  if (!isObject(j) || j.sop !== 'export') return 'the first line is not a sop export header';
  if (j.format !== EXPORT_FORMAT) return `export format ${String(j.format)} is not supported (this version reads ${EXPORT_FORMAT})`;
  return isCount(j.stores) ? (j as unknown as HeaderLine) : 'malformed header (stores)';
}

export function checkStoreLine(j: Record<string, unknown>): StoreLine | string {
  if (typeof j.store !== 'string') return 'malformed store line (store)';
  if (!STORE_KINDS.includes(j.kind as StoreKind)) return `unknown store kind ${JSON.stringify(j.kind)}`;
  if (j.part !== undefined && (typeof j.part !== 'string' || !j.store.endsWith(`@${j.part}`))) return 'malformed store line (part)';
  if (j.part === undefined && j.store.includes('@')) return 'malformed store line (a part store without part)';
  if (j.layer !== undefined && !isObject(j.layer)) return 'malformed store line (layer)';
  if (!isCount(j.count)) return 'malformed store line (count)';
  const o = j.options;
  const optionsOk =
    isObject(o) && Number.isSafeInteger(o.slotLength) && typeof o.isUnique === 'boolean' && typeof o.valueInNode === 'boolean' &&
    typeof o.description === 'string' && (o.keyOrder === undefined || Array.isArray(o.keyOrder));
  return optionsOk ? (j as unknown as StoreLine) : 'malformed store line (options)';
}

export function checkEndLine(j: Record<string, unknown>): EndLine | string {
  if (j.end !== true || !isCount(j.stores) || !isCount(j.items)) return 'malformed end line';
  if (j.crc32 !== undefined && !(Number.isInteger(j.crc32) && (j.crc32 as number) >= 0 && (j.crc32 as number) <= 0xffffffff)) return 'malformed end line (crc32)';
  return j as unknown as EndLine;
}
