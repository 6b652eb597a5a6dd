/**
 * Full structural walk of a B+tree, used by tests and the simulator. Throws SopError('CORRUPT')
 * naming the offending node on the first broken invariant.
 */
import { corrupt } from '../errors/sop-error.js';
import type { BNode, InternalNode, LeafNode, Separator } from './node.js';
import { compareEntry } from './node.js';
import type { TreeContext } from './search.js';

export interface CheckResult {
  /** Number of items. */
  count: number;
  /** Number of levels (a root leaf is depth 1). */
  depth: number;
  /** Number of nodes reachable from the root, root included. */
  nodes: number;
}

interface Walk {
  readonly ctx: TreeContext;
  readonly seen: Set<string>;
  prev: Separator | undefined;
  count: number;
  nodes: number;
  leafDepth: number | undefined;
}

/** Exclusive upper / inclusive lower bound inherited from the separators above a node. */
interface Bounds {
  readonly lo: Separator | undefined;
  readonly hi: Separator | undefined;
}

export async function checkTree(ctx: TreeContext): Promise<CheckResult> {
  const walk: Walk = { ctx, seen: new Set(), prev: undefined, count: 0, nodes: 0, leafDepth: undefined };
  await visit(walk, ctx.access.rootId, 1, { lo: undefined, hi: undefined });
  return { count: walk.count, depth: walk.leafDepth ?? 1, nodes: walk.nodes };
}

async function visit(walk: Walk, id: string, depth: number, bounds: Bounds): Promise<void> {
  if (walk.seen.has(id)) throw corrupt(`B-tree node ${id} is reachable twice`);
  walk.seen.add(id);
  walk.nodes++;
  const node = await readNode(walk, id, depth === 1);
  if (node.kind === 'leaf') {
    visitLeaf(walk, node, depth, bounds);
    return;
  }
  checkSeparators(walk, node, bounds);
  for (let i = 0; i < node.children.length; i++) {
    const lo = i === 0 ? bounds.lo : node.keys[i - 1];
    const hi = i === node.keys.length ? bounds.hi : node.keys[i];
    await visit(walk, node.children[i]!, depth + 1, { lo, hi });
  }
}

/** Reads a node and checks its shape and size. */
async function readNode(walk: Walk, id: string, isRoot: boolean): Promise<BNode> {
  const node = await walk.ctx.access.get(id);
  const slots = walk.ctx.slotLength;
  if (node.id !== id) throw corrupt(`B-tree node ${id}: stored body has id ${String(node.id)}`);
  if (node.kind === 'leaf' && Array.isArray(node.items)) {
    if (node.items.length > slots) throw corrupt(`B-tree leaf ${id}: ${node.items.length} items > ${slots}`);
    if (!isRoot && node.items.length === 0) throw corrupt(`B-tree leaf ${id}: non-root node is empty`);
    return node;
  }
  if (node.kind !== 'internal' || !Array.isArray(node.keys) || !Array.isArray(node.children)) {
    throw corrupt(`B-tree node ${id}: unknown node shape`);
  }
  if (node.children.length !== node.keys.length + 1) {
    throw corrupt(`B-tree node ${id}: ${node.children.length} children for ${node.keys.length} keys`);
  }
  if (node.keys.length > slots) throw corrupt(`B-tree node ${id}: ${node.keys.length} keys > ${slots}`);
  if (node.keys.length === 0) throw corrupt(`B-tree node ${id}: internal node with a single child`);
  return node;
}

function visitLeaf(walk: Walk, leaf: LeafNode, depth: number, bounds: Bounds): void {
  if (walk.leafDepth === undefined) walk.leafDepth = depth;
  if (walk.leafDepth !== depth) {
    throw corrupt(`B-tree leaf ${leaf.id} at depth ${depth}, other leaves at depth ${walk.leafDepth}`);
  }
  for (const item of leaf.items) {
    checkBounds(walk, leaf.id, item, bounds);
    checkOrder(walk, leaf.id, item);
    walk.prev = item;
    walk.count++;
  }
}

/** Separators strictly increase and lie within the node's own bounds. */
function checkSeparators(walk: Walk, node: InternalNode, bounds: Bounds): void {
  let prev: Separator | undefined;
  for (const key of node.keys) {
    checkBounds(walk, node.id, key, bounds);
    if (prev !== undefined && cmp(walk, prev, key) >= 0) {
      throw corrupt(`B-tree node ${node.id}: separators are not strictly increasing`);
    }
    prev = key;
  }
}

/** lo <= entry < hi. */
function checkBounds(walk: Walk, nodeId: string, entry: Separator, bounds: Bounds): void {
  if (bounds.lo !== undefined && cmp(walk, entry, bounds.lo) < 0) {
    throw corrupt(`B-tree node ${nodeId}: entry ${entry.id} below its separator ${bounds.lo.id}`);
  }
  if (bounds.hi !== undefined && cmp(walk, entry, bounds.hi) >= 0) {
    throw corrupt(`B-tree node ${nodeId}: entry ${entry.id} not below the next separator ${bounds.hi.id}`);
  }
}

/** Items strictly increase across the whole tree; a unique tree has no equal keys. */
function checkOrder(walk: Walk, nodeId: string, item: Separator): void {
  const prev = walk.prev;
  if (prev === undefined) return;
  if (cmp(walk, prev, item) >= 0) {
    throw corrupt(`B-tree node ${nodeId}: item ${item.id} out of order after ${prev.id}`);
  }
  if (walk.ctx.unique && walk.ctx.compare(prev.key, item.key) === 0) {
    throw corrupt(`B-tree node ${nodeId}: duplicate key in a unique tree (items ${prev.id}, ${item.id})`);
  }
}

function cmp(walk: Walk, a: Separator, b: Separator): number {
  return compareEntry(walk.ctx.compare, a.key, a.id, b.key, b.id);
}
