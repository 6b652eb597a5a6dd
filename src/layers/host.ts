import type { Btree } from '../database/btree.js';
import type { BtreeOptions } from '../database/options.js';
import type { Env } from '../ports/env.js';
import type { StoreKind } from '../store/store-info.js';
import type { Transaction, TransactionMode, TransactionOptions } from '../txn/transaction.js';

/** A store as users see it: its name and what it is. Layer parts (`name@part`) are not listed. */
export interface StoreEntry {
  name: string;
  kind: StoreKind;
}

/** A layer's main B-tree and the options it was created with. */
export interface LayerMain<K, V> {
  tree: Btree<K, V>;
  /** The layer options stored at creation (JSON). */
  layer: Record<string, unknown>;
  /** True when this call created the store (in `tx`). */
  created: boolean;
}

/**
 * What the layers (vector store, search index, stream store, model registry, export) use of a
 * Database. Every layer is a set of B-trees inside the caller's transaction: the main tree named
 * as the user named the store (its StoreInfo carries the kind and the layer options) and
 * auxiliary trees `<name>@<part>` that users cannot name, open or list.
 */
export interface LayerHost {
  readonly env: Env;
  readonly folder: string;
  /**
   * Creates the main B-tree of a layer store, or opens it when it exists with the same kind.
   * INVALID_ARGUMENT when the name is taken by a store of another kind. The caller compares
   * `layer` of an existing store with what it was asked for.
   */
  createMain<K, V>(tx: Transaction, name: string, kind: StoreKind, layer: Record<string, unknown>, options: BtreeOptions<K>): Promise<LayerMain<K, V>>;
  /** Opens the main B-tree of a layer store: STORE_NOT_FOUND when missing, INVALID_ARGUMENT when of another kind. */
  openMain<K, V>(tx: Transaction, name: string, kind: StoreKind): Promise<LayerMain<K, V>>;
  /** Creates (or opens) the auxiliary B-tree `<name>@<part>` (part: 1-15 of a-z 0-9). */
  part<K, V>(tx: Transaction, name: string, part: string, options: BtreeOptions<K>): Promise<Btree<K, V>>;
  /** Opens any store by its full name, part or main, whatever its kind (export, checkers). */
  openAny<K, V>(tx: Transaction, name: string): Promise<Btree<K, V>>;
  /** Every store's name, parts included, with the kind of its main store. */
  allStores(): Promise<Array<StoreEntry & { part?: string; layer?: Record<string, unknown> }>>;
  beginTransaction(mode: TransactionMode, options?: TransactionOptions): Promise<Transaction>;
}
