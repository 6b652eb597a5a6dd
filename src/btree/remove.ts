/**
 * Deletion with rebalancing. After an item leaves a leaf, walking up the path:
 * - an empty node is detached from its parent and removed;
 * - an under-half node merges with an adjacent sibling (same parent) when both fit in one node;
 * - an internal node left with a single child borrows one child from a sibling that cannot merge;
 * - finally a root that is internal with a single child pulls that child's content in (the root id
 *   never changes).
 * Non-root internal nodes therefore always hold at least one separator.
 */
import { assert, corrupt } from '../errors/sop-error.js';
import { appendItems, removeItem } from './leaf-edits.js';
import type { BNode, InternalNode } from './node.js';
import { copyBody, entryCount, loadNode, mutableInternal, mutableLeaf } from './search.js';
import type { TreeContext } from './search.js';

export interface PathStep {
  readonly id: string;
  readonly index: number;
}

/** Removes the item at the path's leaf index (the path must be current) and rebalances. */
export async function removeAt(ctx: TreeContext, path: readonly PathStep[], itemId: string): Promise<void> {
  const last = path[path.length - 1]!;
  const leaf = await mutableLeaf(ctx.access, last.id);
  assert(leaf.items[last.index]?.id === itemId, `cursor path does not point at item ${itemId}`);
  removeItem(leaf.items, last.index);
  for (let level = path.length - 1; level > 0; level--) {
    if (!(await rebalance(ctx, path[level]!.id, path[level - 1]!))) break;
  }
  await collapseRoot(ctx);
}

/** Fixes one non-root node after it lost an entry. Returns whether the parent lost a child. */
async function rebalance(ctx: TreeContext, id: string, parentStep: PathStep): Promise<boolean> {
  const node = await ctx.access.get(id);
  const size = node.kind === 'leaf' ? node.items.length : node.children.length;
  if (size > 0 && entryCount(node) * 2 > ctx.slotLength) return false;
  const parent = await ctx.access.get(parentStep.id);
  const index = parentStep.index;
  assert(parent.kind === 'internal' && parent.children[index] === id, `node ${id} not under ${parent.id}`);
  if (size === 0) {
    await detach(ctx, parent.id, index);
    return true;
  }
  const left = await mergeableSibling(ctx, parent, index, node);
  if (left !== undefined) {
    await mergeChildren(ctx, parent.id, left);
    return true;
  }
  if (node.kind === 'internal' && node.keys.length === 0) await borrow(ctx, parent.id, index);
  return false;
}

/** Removes the empty child `index` of the parent together with one adjacent separator. */
async function detach(ctx: TreeContext, parentId: string, index: number): Promise<void> {
  const parent = await mutableInternal(ctx.access, parentId);
  const [childId] = parent.children.splice(index, 1);
  parent.keys.splice(index > 0 ? index - 1 : 0, 1);
  ctx.access.remove(childId!);
}

/**
 * Index of the left node of an adjacent pair (node with its left, else right sibling) that fits in
 * one node, or undefined. Reads siblings only.
 */
async function mergeableSibling(
  ctx: TreeContext,
  parent: InternalNode,
  index: number,
  node: BNode,
): Promise<number | undefined> {
  for (const left of [index - 1, index]) {
    if (left < 0 || left + 1 >= parent.children.length) continue;
    const siblingId = parent.children[left === index ? index + 1 : left]!;
    const sibling = await loadNode(ctx.access, siblingId, false);
    if (sibling.kind !== node.kind) throw corruptLevel(parent.id, siblingId);
    const joined = entryCount(sibling) + entryCount(node) + (node.kind === 'internal' ? 1 : 0);
    if (joined <= ctx.slotLength) return left;
  }
  return undefined;
}

/** Moves child `left + 1` of the parent into child `left` and removes it. */
async function mergeChildren(ctx: TreeContext, parentId: string, left: number): Promise<void> {
  const parent = await mutableInternal(ctx.access, parentId);
  const into = await ctx.access.mutable(parent.children[left]!);
  const from = await ctx.access.get(parent.children[left + 1]!);
  if (into.kind === 'leaf' && from.kind === 'leaf') {
    appendItems(into.items, from.items);
  } else if (into.kind === 'internal' && from.kind === 'internal') {
    into.keys.push(parent.keys[left]!, ...from.keys);
    into.children.push(...from.children);
  } else {
    throw corruptLevel(parentId, from.id);
  }
  parent.keys.splice(left, 1);
  parent.children.splice(left + 1, 1);
  ctx.access.remove(from.id);
}

/** Gives an internal child with no separator one child (and separator) from a full sibling. */
async function borrow(ctx: TreeContext, parentId: string, index: number): Promise<void> {
  const parent = await mutableInternal(ctx.access, parentId);
  const node = await mutableInternal(ctx.access, parent.children[index]!);
  if (index > 0) {
    const sibling = await mutableInternal(ctx.access, parent.children[index - 1]!);
    assert(sibling.keys.length > 1, `sibling of ${node.id} cannot lend a child`);
    node.children.unshift(sibling.children.pop()!);
    node.keys.unshift(parent.keys[index - 1]!);
    parent.keys[index - 1] = sibling.keys.pop()!;
  } else {
    const sibling = await mutableInternal(ctx.access, parent.children[index + 1]!);
    assert(sibling.keys.length > 1, `sibling of ${node.id} cannot lend a child`);
    node.children.push(sibling.children.shift()!);
    node.keys.push(parent.keys[index]!);
    parent.keys[index] = sibling.keys.shift()!;
  }
}

/** While the root is internal with a single child, pulls that child's content into the root. */
async function collapseRoot(ctx: TreeContext): Promise<void> {
  const rootId = ctx.access.rootId;
  for (;;) {
    const root = await ctx.access.get(rootId);
    if (root.kind !== 'internal' || root.children.length > 1) return;
    if (root.children.length === 0) {
      ctx.access.put({ kind: 'leaf', id: rootId, items: [] });
      return;
    }
    const child = await ctx.access.get(root.children[0]!);
    ctx.access.put(copyBody(child, rootId));
    ctx.access.remove(child.id);
  }
}

function corruptLevel(parentId: string, childId: string): Error {
  return corrupt(`B-tree node ${parentId}: children of different kinds (at ${childId})`);
}
