/**
 * Binary form of a B-tree node (a BlockKind.Node frame). Nodes are the most frequently read and
 * written blocks, so the format is compact and decoding checks only what the tree relies on.
 *
 * Payload: u8 kind (1 leaf, 2 internal), node id (16-byte uuid), then
 *   leaf:     varuint item count; per item: id uuid, version varuint, key (value codec),
 *             u8 flag (0: length-prefixed value-codec bytes follow, 1: value blob id uuid follows)
 *   internal: varuint separator count; per separator: key (value codec), id uuid;
 *             varuint child count (must be separators + 1), then the child ids
 */
import { corrupt, invalid } from '../errors/sop-error.js';
import type { BNode, InternalNode, Item, LeafNode, Separator } from '../btree/node.js';
import { originsOf, untrack } from '../btree/leaf-edits.js';
import { ByteReader, ByteWriter, varuintSize } from './bytes.js';
import { BlockKind, FRAME_HEADER_SIZE, beginFrame, decodeFrame, endFrame } from './frame.js';
import { encodeValue, readValue, writeValue } from './value-codec.js';

/** The encoding of `undefined`: what an item without value bytes stores. */
const EMPTY_VALUE = encodeValue(undefined);

const LEAF = 1;
const INTERNAL = 2;
const INLINE_VALUE = 0;
const BLOB_VALUE = 1;

/** Smallest encodings, used to reject absurd counts before looping on them. */
const MIN_ITEM_BYTES = 16 + 1 + 1 + 1 + 1;
const MIN_SEPARATOR_BYTES = 1 + 16;

/**
 * What a leaf's items encode to, kept per items array (weakly: it lives as long as the array):
 * the block holding the encodings and where item i's starts in it (offsets[n] = its end). An
 * item is immutable, so its encoding never changes: a leaf re-encoded after a few changes
 * copies the runs of items it shares with its previous version instead of encoding them again.
 * Retains the block (a decoded node's inline values already do).
 *
 * An entry is only used while its array is frozen: the node cache freezes a node right after
 * decoding it and after the commit that encoded it, and nothing changes the array in between;
 * an array that was never frozen (a failed commit, a node decoded outside the cache) may have
 * changed since, so its entry is ignored.
 */
interface LeafEncoding {
  readonly block: Uint8Array;
  readonly offsets: Int32Array;
}

const leafEncodings = new WeakMap<readonly Item[], LeafEncoding>();

/** A transaction's private copy of a leaf's items -> the array it was copied from. */
const copiedFrom = new WeakMap<readonly Item[], readonly Item[]>();

/**
 * Records that `copy` started as a copy of `source` (a committed leaf's items), so that its
 * encoding can reuse what `source` encoded to. Purely an optimisation: the bytes are the same.
 */
export function noteItemsCopy(copy: readonly Item[], source: readonly Item[]): void {
  copiedFrom.set(copy, source);
}

export function encodeNode(node: BNode): Uint8Array {
  if (node.kind === 'leaf') return encodeLeaf(node);
  if (node.kind !== 'internal') throw invalid(`encodeNode: unknown node kind ${String((node as { kind: unknown }).kind)}`);
  const w = beginFrame(estimateInternal(node));
  w.u8(INTERNAL);
  w.uuid(node.id);
  writeInternal(w, node);
  return endFrame(w, BlockKind.Node);
}

function encodeLeaf(node: LeafNode): Uint8Array {
  const items = node.items;
  const n = items.length;
  const known = Object.isFrozen(items) ? items : copiedFrom.get(items);
  const prev = known !== undefined && Object.isFrozen(known) ? leafEncodings.get(known) : undefined;
  // source[i]: index of items[i] in `known` (its bytes are copied), or -1 (encoded here).
  const source = prev !== undefined ? sourcesOf(items, known!) : noMatches(n);
  let size = 1 + 16 + varuintSize(n);
  for (let i = 0; i < n; i++) {
    const k = source[i]!;
    size += k >= 0 ? prev!.offsets[k + 1]! - prev!.offsets[k]! : itemSize(items[i]!);
  }
  const w = beginFrame(size);
  w.u8(LEAF);
  w.uuid(node.id);
  w.varuint(n);
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; ) {
    const k = source[i]!;
    if (k < 0) {
      offsets[i] = w.length;
      writeItem(w, node, items[i]!, i);
      i++;
      continue;
    }
    // The longest run of items that were consecutive in prev: one copy.
    const from = prev!.offsets[k]!;
    const shift = w.length - from;
    let end = k;
    while (i < n && source[i] === end) {
      offsets[i] = prev!.offsets[end]! + shift;
      i++;
      end++;
    }
    w.rawRange(prev!.block, from, prev!.offsets[end]!);
  }
  offsets[n] = w.length;
  const block = endFrame(w, BlockKind.Node);
  leafEncodings.set(items, { block, offsets });
  // From now on the array's own encoding serves; the link would keep every older version alive.
  copiedFrom.delete(items);
  untrack(items);
  return block;
}

/**
 * A leaf as item-level changes of the committed leaf it was copied from (journal mode, spec
 * JNL-1): `ops` are pairs [index in `base`, count] that copy items, or [-1, count] for items new
 * here, whose encodings are `bytes`, in order. Only the new items are encoded: the whole block is
 * encoded once, when the checkpoint writes it, however many commits changed the leaf before.
 */
export interface LeafItemPatch {
  readonly base: readonly Item[];
  readonly ops: readonly number[];
  readonly bytes: Uint8Array;
}

/** How far past the last match matchItems looks for an item of the base. */
const ITEM_SEARCH_WINDOW = 16;

/** The leaf's changes since the committed items it was copied from; undefined when it was not copied from any. */
export function leafItemPatch(node: LeafNode): LeafItemPatch | undefined {
  const items = node.items;
  const base = copiedFrom.get(items);
  if (base === undefined || !Object.isFrozen(base)) return undefined;
  const n = items.length;
  const source = sourcesOf(items, base);
  const ops: number[] = [];
  const w = new ByteWriter(256);
  for (let i = 0; i < n; ) {
    const from = i;
    if (source[i]! < 0) {
      while (i < n && source[i]! < 0) writeItem(w, node, items[i]!, i++);
      ops.push(-1, i - from);
      continue;
    }
    const start = source[i]!;
    while (i < n && source[i] === start + (i - from)) i++;
    ops.push(start, i - from);
  }
  return { base, ops, bytes: w.finish() };
}

/**
 * For each of `items`, its index in `base` or -1: as the copy's edits kept them (btree/leaf-edits.ts)
 * when `items` is a tracked copy of `base` (no item compared), else matched (matchItems).
 */
function sourcesOf(items: readonly Item[], base: readonly Item[]): ArrayLike<number> {
  if (copiedFrom.get(items) === base) {
    const from = originsOf(items);
    if (from !== undefined && from.length === items.length) return from;
  }
  return matchItems(items, base);
}

/**
 * For each of `items`, its index in `base` or -1, in scratch (valid until the next call; encoding
 * is synchronous). Unchanged items keep their order: each is searched a few places past the last
 * match only (a leaf changes by a few items per commit; a full search per new item cost a sixth
 * of an update commit). After a few misses in a row (a range of more than the window removed), an
 * index of the base finds the rest; misses apart are new items, whose count alone called for the
 * index in one leaf in eight of a random update commit (15% of its time). An item not found counts
 * as new: always right, only longer.
 */
function matchItems(items: readonly Item[], base: readonly Item[]): Int32Array {
  const source = scratchOf(items.length);
  let j = 0;
  let misses = 0;
  let index: Map<Item, number> | null = null;
  for (let i = 0; i < items.length; i++) {
    let k = -1;
    if (index === null) {
      const end = Math.min(base.length, j + ITEM_SEARCH_WINDOW);
      for (let m = j; m < end; m++) {
        if (base[m] === items[i]) {
          k = m;
          break;
        }
      }
      if (k >= 0) misses = 0;
      else if (++misses > ITEM_SEARCH_WINDOW / 4) index = indexOf(base);
    } else {
      k = index.get(items[i]!) ?? -1;
      if (k < j) k = -1;
    }
    source[i] = k;
    if (k >= 0) j = k + 1;
  }
  return source;
}

function noMatches(n: number): Int32Array {
  const source = scratchOf(n);
  source.fill(-1, 0, n);
  return source;
}

function scratchOf(n: number): Int32Array {
  if (scratch.length < n) scratch = new Int32Array(Math.max(n, 2 * scratch.length));
  return scratch;
}

function indexOf(items: readonly Item[]): Map<Item, number> {
  const index = new Map<Item, number>();
  for (let k = 0; k < items.length; k++) index.set(items[k]!, k);
  return index;
}

/** Replay of an item patch onto the leaf it was made from (decoded from its block); CORRUPT when they do not fit. */
export function applyLeafItemPatch(base: BNode, ops: readonly number[], bytes: Uint8Array, what: string): LeafNode {
  if (base.kind !== 'leaf') throw corrupt(`${what}: the base of an item patch is not a leaf`);
  const r = new ByteReader(bytes, what);
  const items: Item[] = [];
  for (let p = 0; p < ops.length; p += 2) {
    const at = ops[p]!;
    const count = ops[p + 1]!;
    if (at === -1) {
      for (let c = 0; c < count; c++) items.push(readItem(r, items.length));
    } else {
      if (at + count > base.items.length) throw corrupt(`${what}: item patch copies items ${at}..${at + count} of ${base.items.length}`);
      for (let c = 0; c < count; c++) items.push(base.items[at + c]!);
    }
  }
  r.expectEnd();
  return { kind: 'leaf', id: base.id, items };
}

/**
 * A copied leaf's items were committed and frozen (node cache): their link to the array they
 * were copied from is not needed any more, and kept it would chain every version of the leaf.
 */
export function settleItemsCopy(items: readonly Item[]): void {
  copiedFrom.delete(items);
  untrack(items);
}

/** The per-item plan of encodeLeaf and leafItemPatch, reused (encoding is synchronous). */
let scratch = new Int32Array(1024);

/** Encoded size of an item: exact for a short ASCII string key, else an upper bound or near it. */
function itemSize(item: Item): number {
  const value = item.valueBytes;
  let size = 16 + varuintSize(item.version) + keySize(item.key) + 1;
  if (item.valueBlobId !== undefined) size += 16;
  else if (value !== undefined) size += varuintSize(value.length) + value.length;
  else size += 1 + EMPTY_VALUE.length;
  return size;
}

function estimateInternal(node: InternalNode): number {
  let size = 1 + 16 + 8;
  const keys = node.keys;
  for (let i = 0; i < keys.length; i++) size += 16 + keySize(keys[i]!.key);
  return size + 8 + 16 * node.children.length;
}

/**
 * Encoded size of a key: exact for a short string when it is ASCII (tag, length byte, chars; a
 * non-ASCII one makes the writer grow once), an upper bound for other keys. Not scanned here:
 * the writer's string fast path already looks at every char.
 */
function keySize(key: unknown): number {
  if (typeof key !== 'string') return 32;
  const n = key.length;
  return n < 0x80 ? 2 + n : 1 + 8 + 3 * n;
}

function writeItem(w: ByteWriter, node: LeafNode, item: Item, i: number): void {
  w.uuid(item.id);
  w.varuint(item.version);
  writeKey(w, item.key, node.id, 'items', i);
  if (item.valueBlobId !== undefined) {
    if (item.valueBytes !== undefined) throw invalid(`node ${node.id} items[${i}] has both an inline value and a value blob`);
    w.u8(BLOB_VALUE);
    w.uuid(item.valueBlobId);
  } else {
    w.u8(INLINE_VALUE);
    w.bytes(item.valueBytes ?? EMPTY_VALUE);
  }
}

/**
 * Writes a key; the label naming it in errors is only built when it fails (by writing the key
 * again into a scratch writer, which fails the same way under its real name).
 */
function writeKey(w: ByteWriter, key: unknown, nodeId: string, field: string, i: number): void {
  try {
    writeValue(w, key, 'key');
  } catch (error) {
    writeValue(new ByteWriter(64), key, `node ${nodeId} ${field}[${i}].key`);
    throw error;
  }
}

function writeInternal(w: ByteWriter, node: InternalNode): void {
  if (node.children.length !== node.keys.length + 1) {
    throw invalid(`node ${node.id} has ${node.keys.length} separators but ${node.children.length} children`);
  }
  const keys = node.keys;
  w.varuint(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const sep = keys[i]!;
    writeKey(w, sep.key, node.id, 'keys', i);
    w.uuid(sep.id);
  }
  w.varuint(node.children.length);
  for (const child of node.children) w.uuid(child);
}

/** Decodes and checks a node block read for logical id `expectedId`; CORRUPT on any defect. */
export function decodeNode(bytes: Uint8Array, expectedId: string): BNode {
  const what = `node ${expectedId}`;
  const r = new ByteReader(decodeFrame(bytes, BlockKind.Node, what), what);
  const kind = r.u8();
  const id = r.uuid();
  if (id !== expectedId) throw corrupt(`${what}: node id mismatch (block holds node ${id})`);
  let node: BNode;
  if (kind === LEAF) node = { kind: 'leaf', id, items: readItems(r, bytes) };
  else if (kind === INTERNAL) node = readInternal(r, id);
  else throw corrupt(`${what}: unknown node kind ${kind}`);
  r.expectEnd();
  return node;
}

function readCount(r: ByteReader, minBytesEach: number, label: string): number {
  const n = r.varuint();
  if (n * minBytesEach > r.remaining) throw corrupt(`${r.what}: ${label} count ${n} exceeds the block size`);
  return n;
}

function readItems(r: ByteReader, block: Uint8Array): Item[] {
  const n = readCount(r, MIN_ITEM_BYTES, 'item');
  const items: Item[] = [];
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    offsets[i] = FRAME_HEADER_SIZE + r.offset;
    items.push(readItem(r, i));
  }
  offsets[n] = FRAME_HEADER_SIZE + r.offset;
  if (r.remaining === 0) leafEncodings.set(items, { block, offsets }); // else decodeNode fails
  return items;
}

function readItem(r: ByteReader, i: number): Item {
  const id = r.uuid();
  const version = r.varuint();
  const key = readValue(r);
  const flag = r.u8();
  if (flag === INLINE_VALUE) return { id, key, version, valueBytes: r.bytes() };
  if (flag === BLOB_VALUE) return { id, key, version, valueBlobId: r.uuid() };
  throw corrupt(`${r.what}: bad value flag ${flag} in item ${i}`);
}

function readInternal(r: ByteReader, id: string): InternalNode {
  const n = readCount(r, MIN_SEPARATOR_BYTES, 'separator');
  const keys: Separator[] = [];
  for (let i = 0; i < n; i++) {
    const key = readValue(r);
    keys.push({ key, id: r.uuid() });
  }
  const childCount = r.varuint();
  if (childCount !== n + 1) throw corrupt(`${r.what}: ${n} separators but ${childCount} children`);
  const children: string[] = [];
  for (let i = 0; i < childCount; i++) children.push(r.uuid());
  return { kind: 'internal', id, keys, children };
}
