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
import { ByteReader, type ByteWriter } from './bytes.js';
import { BlockKind, beginFrame, decodeFrame, endFrame } from './frame.js';
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

export function encodeNode(node: BNode): Uint8Array {
  const w = beginFrame(estimateSize(node));
  if (node.kind === 'leaf') {
    w.u8(LEAF);
    w.uuid(node.id);
    writeLeaf(w, node);
  } else if (node.kind === 'internal') {
    w.u8(INTERNAL);
    w.uuid(node.id);
    writeInternal(w, node);
  } else {
    throw invalid(`encodeNode: unknown node kind ${String((node as { kind: unknown }).kind)}`);
  }
  return endFrame(w, BlockKind.Node);
}

function estimateSize(node: BNode): number {
  return 64 + (node.kind === 'leaf' ? node.items.length * 64 : node.keys.length * 48);
}

function writeLeaf(w: ByteWriter, node: LeafNode): void {
  w.varuint(node.items.length);
  node.items.forEach((item, i) => {
    w.uuid(item.id);
    w.varuint(item.version);
    writeValue(w, item.key, `node ${node.id} items[${i}].key`);
    if (item.valueBlobId !== undefined) {
      if (item.valueBytes !== undefined) throw invalid(`node ${node.id} items[${i}] has both an inline value and a value blob`);
      w.u8(BLOB_VALUE);
      w.uuid(item.valueBlobId);
    } else {
      w.u8(INLINE_VALUE);
      w.bytes(item.valueBytes ?? EMPTY_VALUE);
    }
  });
}

function writeInternal(w: ByteWriter, node: InternalNode): void {
  if (node.children.length !== node.keys.length + 1) {
    throw invalid(`node ${node.id} has ${node.keys.length} separators but ${node.children.length} children`);
  }
  w.varuint(node.keys.length);
  node.keys.forEach((sep, i) => {
    writeValue(w, sep.key, `node ${node.id} keys[${i}].key`);
    w.uuid(sep.id);
  });
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
  if (kind === LEAF) node = { kind: 'leaf', id, items: readItems(r) };
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

function readItems(r: ByteReader): Item[] {
  const n = readCount(r, MIN_ITEM_BYTES, 'item');
  const items: Item[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.uuid();
    const version = r.varuint();
    const key = readValue(r);
    const flag = r.u8();
    if (flag === INLINE_VALUE) items.push({ id, key, version, valueBytes: r.bytes() });
    else if (flag === BLOB_VALUE) items.push({ id, key, version, valueBlobId: r.uuid() });
    else throw corrupt(`${r.what}: bad value flag ${flag} in item ${i}`);
  }
  return items;
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
