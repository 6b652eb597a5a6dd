/**
 * Insertion with splits. A node over capacity keeps its lower half; a new right sibling takes the
 * upper half and the separator goes into the parent, cascading. The root keeps its id: on overflow
 * its content moves into two new nodes and the root becomes an internal node above them.
 */
import { assert, invalid } from '../errors/sop-error.js';
import { descend } from './cursor.js';
import { cutItems, insertItem } from './leaf-edits.js';
import type { BNode, Item, Separator } from './node.js';
import { copyBody, entryCount, entryProbe, mutableInternal, mutableLeaf } from './search.js';
import type { TreeContext } from './search.js';

interface Step {
  readonly id: string;
  readonly index: number;
}

/** Inserts an entry that must not exist yet (same key and id) at its place in entry order. */
export async function insertEntry(ctx: TreeContext, item: Item): Promise<void> {
  const path = await descend(ctx, entryProbe(ctx.compare, item.key, item.id), false);
  const last = path[path.length - 1]!;
  const existing = last.node.kind === 'leaf' ? last.node.items[last.index] : undefined;
  if (existing !== undefined && existing.id === item.id && ctx.compare(existing.key, item.key) === 0) {
    throw invalid(`item ${item.id} is already stored under this key`);
  }
  const leaf = await mutableLeaf(ctx.access, last.node.id);
  insertItem(leaf.items, last.index, item);
  await splitUpward(ctx, path.map((f) => ({ id: f.node.id, index: f.index })));
}

/** Splits overflowing nodes from the leaf up; stops at the first node within capacity. */
async function splitUpward(ctx: TreeContext, path: readonly Step[]): Promise<void> {
  for (let level = path.length - 1; level >= 0; level--) {
    const node = await ctx.access.mutable(path[level]!.id);
    if (entryCount(node) <= ctx.slotLength) return;
    if (level === 0) {
      splitRoot(ctx, node);
      return;
    }
    const { right, separator } = splitNode(ctx, node);
    ctx.access.add(right);
    const parentStep = path[level - 1]!;
    const parent = await mutableInternal(ctx.access, parentStep.id);
    assert(parent.children[parentStep.index] === node.id, `node ${node.id} not under ${parent.id}`);
    parent.keys.splice(parentStep.index, 0, separator);
    parent.children.splice(parentStep.index + 1, 0, right.id);
  }
}

/** Moves the upper half of `node` (mutable) into a new right sibling; returns it and its separator. */
function splitNode(ctx: TreeContext, node: BNode): { right: BNode; separator: Separator } {
  const id = ctx.access.newId();
  if (node.kind === 'leaf') {
    const items = cutItems(node.items, Math.ceil(node.items.length / 2));
    const first = items[0]!;
    return { right: { kind: 'leaf', id, items }, separator: { key: first.key, id: first.id } };
  }
  const mid = node.keys.length >>> 1;
  const keys = node.keys.splice(mid + 1);
  const separator = node.keys.pop()!;
  const children = node.children.splice(mid + 1);
  assert(keys.length > 0 && node.keys.length > 0, `split of ${node.id} left an empty half`);
  return { right: { kind: 'internal', id, keys, children }, separator };
}

/** The root keeps its id: its content moves into two new children under a new internal body. */
function splitRoot(ctx: TreeContext, root: BNode): void {
  const left = copyBody(root, ctx.access.newId());
  const { right, separator } = splitNode(ctx, left);
  ctx.access.add(left);
  ctx.access.add(right);
  ctx.access.put({ kind: 'internal', id: root.id, keys: [separator], children: [left.id, right.id] });
}
