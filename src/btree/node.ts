/**
 * B+tree node model. Leaves hold items; internal nodes hold separators and child logical ids.
 * Entries are ordered by (key under the store's comparer, item id) so that duplicate keys in a
 * non-unique tree still have one total order (spec BTREE-1).
 *
 * Nodes handed out by a NodeAccess are shared and frozen by convention: the B-tree must call
 * `access.mutable(id)` to obtain a transaction-private copy before changing anything.
 */

/** A stored entry. */
export interface Item {
  /** Stable identity (UUID): tie-break among duplicates, item lock key, conflict tracking. */
  readonly id: string;
  readonly key: unknown;
  /** Bumped once by every committed transaction that updates the item (starts at 1). */
  readonly version: number;
  /**
   * Value stored in the node (store option valueInNode), as value-codec bytes. It is decoded on
   * every read, so each reader gets a private copy and nobody can change a shared node (E40).
   */
  readonly valueBytes?: Uint8Array;
  /** Value stored in its own blob; a fresh blob id on every update (hazard E40 avoided). */
  readonly valueBlobId?: string;
}

/** Lower bound of `children[i + 1]`: every entry there is >= (key, id). */
export interface Separator {
  readonly key: unknown;
  readonly id: string;
}

export interface LeafNode {
  readonly kind: 'leaf';
  readonly id: string;
  items: Item[];
}

export interface InternalNode {
  readonly kind: 'internal';
  readonly id: string;
  /** keys.length === children.length - 1 */
  keys: Separator[];
  children: string[];
}

export type BNode = LeafNode | InternalNode;

/** Compares two keys under the store's order. Must be a total order; throws SopError on bad keys. */
export type KeyCompare = (a: unknown, b: unknown) => number;

/** Compares entries: key first, then item id (byte order of the canonical string). */
export function compareEntry(compare: KeyCompare, aKey: unknown, aId: string, bKey: unknown, bId: string): number {
  const c = compare(aKey, bKey);
  if (c !== 0) return c;
  return aId < bId ? -1 : aId > bId ? 1 : 0;
}
