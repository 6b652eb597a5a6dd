/**
 * Shared helpers for the B+tree algorithms: the tree context, search probes, binary search within
 * a node, and reading nodes with the structural checks every traversal relies on.
 */
import { assert, corrupt } from '../errors/sop-error.js';
import type { NodeAccess } from './node-access.js';
import { compareEntry } from './node.js';
import type { BNode, InternalNode, KeyCompare, LeafNode, Separator } from './node.js';

export interface TreeContext {
  readonly access: NodeAccess;
  readonly slotLength: number;
  readonly unique: boolean;
  readonly compare: KeyCompare;
}

/** Sign of an entry (key, id) relative to a search target: < 0 before it, > 0 after it, 0 equal. */
export type Probe = (key: unknown, id: string) => number;

/** Target: the exact entry (key, id). */
export function entryProbe(compare: KeyCompare, key: unknown, id: string): Probe {
  return (k, i) => compareEntry(compare, k, i, key, id);
}

/** Target: the virtual entry (key, smallest id); every entry with an equal key sorts after it. */
export function keyLowProbe(compare: KeyCompare, key: unknown): Probe {
  return (k) => {
    const c = compare(k, key);
    return c !== 0 ? c : 1;
  };
}

/** Target: the virtual entry (key, largest id); every entry with an equal key sorts before it. */
export function keyHighProbe(compare: KeyCompare, key: unknown): Probe {
  return (k) => {
    const c = compare(k, key);
    return c !== 0 ? c : -1;
  };
}

/** First index whose entry is after the target (strict) or at/after it (not strict); may be length. */
export function bound(entries: readonly Separator[], probe: Probe, strict: boolean): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = entries[mid]!;
    const sign = probe(e.key, e.id);
    if (strict ? sign > 0 : sign >= 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Child of an internal node whose range holds the target: the number of separators <= target. */
export function childIndex(node: InternalNode, probe: Probe): number {
  return bound(node.keys, probe, true);
}

/** Reads a node and rejects shapes no traversal can work with. */
export async function loadNode(access: NodeAccess, id: string, isRoot: boolean): Promise<BNode> {
  return checkNode(await access.get(id), id, isRoot);
}

/** loadNode without waiting when the node is at hand (NodeAccess.peek); undefined otherwise. */
export function peekNode(access: NodeAccess, id: string, isRoot: boolean): BNode | undefined {
  const node = access.peek?.(id);
  return node === undefined ? undefined : checkNode(node, id, isRoot);
}

function checkNode(node: BNode, id: string, isRoot: boolean): BNode {
  if (node.id !== id) throw corrupt(`B-tree node ${id}: stored body has id ${String(node.id)}`);
  if (node.kind === 'leaf') {
    if (!Array.isArray(node.items)) throw corrupt(`B-tree node ${id}: leaf without items`);
    if (!isRoot && node.items.length === 0) throw corrupt(`B-tree node ${id}: non-root leaf is empty`);
    return node;
  }
  if (node.kind !== 'internal' || !Array.isArray(node.keys) || !Array.isArray(node.children)) {
    throw corrupt(`B-tree node ${id}: unknown node shape`);
  }
  if (node.children.length !== node.keys.length + 1) {
    throw corrupt(`B-tree node ${id}: ${node.children.length} children for ${node.keys.length} keys`);
  }
  return node;
}

export async function mutableLeaf(access: NodeAccess, id: string): Promise<LeafNode> {
  const node = await access.mutable(id);
  assert(node.kind === 'leaf', `node ${id} expected to be a leaf`);
  return node;
}

export async function mutableInternal(access: NodeAccess, id: string): Promise<InternalNode> {
  const node = await access.mutable(id);
  assert(node.kind === 'internal', `node ${id} expected to be internal`);
  return node;
}

/** Number of entries a node holds against its capacity: items (leaf) or separators (internal). */
export function entryCount(node: BNode): number {
  return node.kind === 'leaf' ? node.items.length : node.keys.length;
}

/** A fresh body for `id` holding copies of `node`'s arrays. */
export function copyBody(node: BNode, id: string): BNode {
  if (node.kind === 'leaf') return { kind: 'leaf', id, items: [...node.items] };
  return { kind: 'internal', id, keys: [...node.keys], children: [...node.children] };
}
