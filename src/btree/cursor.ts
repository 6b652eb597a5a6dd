/**
 * Cursor paths. A path is the stack of frames from the root to a leaf: for an internal node the
 * index is the child taken, for the leaf it is the item index. Moving across leaf boundaries climbs
 * only as far as needed, so walks never re-descend from the root.
 */
import type { BNode, InternalNode, LeafNode } from './node.js';
import { bound, childIndex, loadNode, peekNode } from './search.js';
import type { Probe, TreeContext } from './search.js';

export interface Frame {
  readonly node: BNode;
  index: number;
}

export type Path = Frame[];

export function leafFrame(path: Path): { leaf: LeafNode; frame: Frame } {
  const frame = path[path.length - 1]!;
  return { leaf: frame.node as LeafNode, frame };
}

/**
 * Descends along `probe`. The leaf frame's index is the first item after (strict) or at/after the
 * target; it may equal items.length (the wanted entry, if any, starts the next leaf).
 */
export async function descend(ctx: TreeContext, probe: Probe, strict: boolean): Promise<Path> {
  const path: Path = [];
  const access = ctx.access;
  let node = peekNode(access, access.rootId, true) ?? (await loadNode(access, access.rootId, true));
  while (node.kind === 'internal') {
    const index = childIndex(node, probe);
    path.push({ node, index });
    const childId = node.children[index]!;
    node = peekNode(access, childId, false) ?? (await loadNode(access, childId, false));
  }
  path.push({ node, index: bound(node.items, probe, strict) });
  return path;
}

/** `descend` when every node on the way is at hand (NodeAccess.peek); undefined otherwise. */
export function descendSync(ctx: TreeContext, probe: Probe, strict: boolean): Path | undefined {
  const access = ctx.access;
  let node = peekNode(access, access.rootId, true);
  if (node === undefined) return undefined;
  const path: Path = [];
  while (node.kind === 'internal') {
    const index = childIndex(node, probe);
    path.push({ node, index });
    node = peekNode(access, node.children[index]!, false);
    if (node === undefined) return undefined;
  }
  path.push({ node, index: bound(node.items, probe, strict) });
  return path;
}

/** Path to the first (or last) item of the tree; empty when the tree is empty. */
export async function edgePath(ctx: TreeContext, toLast: boolean): Promise<Path> {
  const root = peekNode(ctx.access, ctx.access.rootId, true) ?? (await loadNode(ctx.access, ctx.access.rootId, true));
  if (root.kind === 'leaf') {
    return root.items.length === 0 ? [] : [{ node: root, index: toLast ? root.items.length - 1 : 0 }];
  }
  const path: Path = [{ node: root, index: toLast ? root.children.length - 1 : 0 }];
  await descendEdge(ctx, path, toLast);
  return path;
}

/** Extends a path whose last frame is internal down the first (or last) children to a leaf. */
async function descendEdge(ctx: TreeContext, path: Path, toLast: boolean): Promise<void> {
  for (;;) {
    const top = path[path.length - 1]!;
    const parent = top.node as InternalNode;
    const childId = parent.children[top.index]!;
    const child = peekNode(ctx.access, childId, false) ?? (await loadNode(ctx.access, childId, false));
    const size = child.kind === 'leaf' ? child.items.length : child.children.length;
    path.push({ node: child, index: toLast ? size - 1 : 0 });
    if (child.kind === 'leaf') return;
  }
}

/** Replaces the path's leaf with the adjacent leaf in the given direction; false at either end. */
async function siblingLeaf(ctx: TreeContext, path: Path, forward: boolean): Promise<boolean> {
  for (let level = path.length - 2; level >= 0; level--) {
    const frame = path[level]!;
    const index = frame.index + (forward ? 1 : -1);
    if (index >= 0 && index < (frame.node as InternalNode).children.length) {
      frame.index = index;
      path.length = level + 1;
      await descendEdge(ctx, path, !forward);
      return true;
    }
  }
  return false;
}

/** Makes the leaf index point at an item, crossing to the next/previous leaf when it is off the end. */
export async function settle(ctx: TreeContext, path: Path, forward: boolean): Promise<boolean> {
  const { leaf, frame } = leafFrame(path);
  if (frame.index >= 0 && frame.index < leaf.items.length) return true;
  return siblingLeaf(ctx, path, forward);
}

/** Moves one item forward or backward. Mutates the path; false at either end. */
export async function step(ctx: TreeContext, path: Path, forward: boolean): Promise<boolean> {
  leafFrame(path).frame.index += forward ? 1 : -1;
  return settle(ctx, path, forward);
}
