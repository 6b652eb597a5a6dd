import type { Item } from './node.js';

/**
 * Where each item of a transaction's copy of a leaf came from: its index in the committed items
 * the copy was made of, or -1 for an item new in the copy. The journal logs an updated leaf as
 * item changes of that committed leaf (spec JNL-1), and the checkpoint encodes it by copying the
 * bytes of unchanged items; both need this mapping. Kept here, as the copy is edited, it costs a
 * few small-integer moves per edit. Worked out afterwards, it took comparing every item of the
 * copy with the base: each comparison of two objects reads both their maps, a cache miss apiece
 * once the items are spread over a big heap (a sixth of a 1M-item insert, 13% of updates).
 *
 * Every change of a leaf's items goes through the functions below (tests/lint/leaf-edits.test.ts
 * finds any other), so a copy's origins are always in step with its items.
 */
const origins = new WeakMap<readonly Item[], number[]>();

/** Starts tracking `copy`, made as a copy of `source` (every item at its own index). */
export function trackCopy(copy: readonly Item[], source: readonly Item[]): void {
  const from = new Array<number>(source.length);
  for (let i = 0; i < from.length; i++) from[i] = i;
  origins.set(copy, from);
}

/** Each item's index in the items `items` was copied from, or -1; undefined when not tracked. */
export function originsOf(items: readonly Item[]): readonly number[] | undefined {
  return origins.get(items);
}

/** Stops tracking (the copy was committed and frozen: nothing edits it any more). */
export function untrack(items: readonly Item[]): void {
  origins.delete(items);
}

export function insertItem(items: Item[], at: number, item: Item): void {
  items.splice(at, 0, item);
  origins.get(items)?.splice(at, 0, -1);
}

export function replaceItem(items: Item[], at: number, item: Item): void {
  items[at] = item;
  const from = origins.get(items);
  if (from) from[at] = -1;
}

export function removeItem(items: Item[], at: number): void {
  items.splice(at, 1);
  origins.get(items)?.splice(at, 1);
}

/** Removes and returns the items from `at` on (a split: they go to a new leaf, encoded whole). */
export function cutItems(items: Item[], at: number): Item[] {
  const cut = items.splice(at);
  origins.get(items)?.splice(at);
  return cut;
}

/** Appends the items of another leaf (a merge): new to this one. */
export function appendItems(items: Item[], more: readonly Item[]): void {
  items.push(...more);
  const from = origins.get(items);
  if (from) for (let i = 0; i < more.length; i++) from.push(-1);
}
