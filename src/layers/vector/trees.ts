/**
 * The B-trees of a vector store `name`, all inside the caller's transaction:
 *
 *   name            data:  dataKey(id) -> { at: placements } (where the id's entries are)
 *   name@state      'state' -> StateRecord (versions), 'cursor' -> the migration's last data key
 *   name@cent       [version, centroid id] -> float64 bytes of the centroid
 *   name@l0, @l1    IVF lists of the versions (version v in slot v % 2):
 *                   [centroid id, distance to the centroid, id] -> float32 bytes + metadata JSON
 *   name@stamps     'version.centroid id.shard' -> a fresh uuid written by every transaction
 *                   that changes that list (the query cache's validity, see list-cache.ts); a
 *                   string key, as queries look up several per list
 *
 * The vector and its metadata are stored in the list entries (as an IVF-flat index does), once
 * per live version; the data record says where they are (`at`), so get, upsert and remove find
 * them by key. Keeping the vector out of the data tree keeps its leaves small: a commit rewrites
 * the leaves it touches, and keys hashed from ids touch many. Records and entries change in the
 * same transaction, always together.
 */
import type { Btree } from '../../database/btree.js';
import type { Transaction } from '../../txn/transaction.js';
import type { LayerHost } from '../host.js';

/** [version, centroid id, distance from the vector's index form to that centroid]. */
export type Placement = [ver: number, cid: number, dist: number];

export interface DataRecord {
  /** Where the id's entry is in each live version's lists. */
  at: Placement[];
}

export type ListKey = [cid: number, dist: number, id: string];
export type CentroidKey = [ver: number, cid: number];
/** `${ver}.${cid}.${shard}` (stampKey). */
export type StampKey = string;

export interface VectorTrees {
  data: Btree<string, DataRecord>;
  state: Btree<string, unknown>;
  cent: Btree<CentroidKey, Uint8Array>;
  stamps: Btree<StampKey, string>;
  slots: readonly [Btree<ListKey, Uint8Array>, Btree<ListKey, Uint8Array>];
}

/** Items per node: about 64 KiB of vectors per leaf, whatever the dimension. */
export function vectorSlotLength(dimensions: number): number {
  return Math.max(8, Math.min(500, Math.floor(65_536 / (4 * dimensions + 64))));
}

/** The data tree: small records (placements), many per node. */
export const MAIN_TREE_OPTIONS = { slotLength: 500, isUnique: true, valueInNode: true } as const;

export async function openParts(host: LayerHost, tx: Transaction, name: string, data: Btree<string, DataRecord>, dimensions: number): Promise<VectorTrees> {
  const slot = vectorSlotLength(dimensions);
  const part = <K, V>(p: string, slotLength: number) => host.part<K, V>(tx, name, p, { slotLength, isUnique: true, valueInNode: true });
  return {
    data,
    state: await part<string, unknown>('state', 16),
    cent: await part<CentroidKey, Uint8Array>('cent', Math.max(8, Math.min(500, Math.floor(65_536 / (8 * dimensions + 32))))),
    stamps: await part<StampKey, string>('stamps', 500),
    slots: [await part<ListKey, Uint8Array>('l0', slot), await part<ListKey, Uint8Array>('l1', slot)],
  };
}

export function stampKey(ver: number, cid: number, shard: number): StampKey {
  return `${ver}.${cid}.${shard}`;
}

/** The version of a stamp key. */
export function stampVersion(key: StampKey): number {
  return Number(key.slice(0, key.indexOf('.')));
}

/** The list tree of a version. */
export function slotOf(trees: VectorTrees, ver: number): Btree<ListKey, Uint8Array> {
  return trees.slots[ver % 2]!;
}
