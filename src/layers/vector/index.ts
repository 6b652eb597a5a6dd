/**
 * The vector store (issue #16): IVF over B-trees, inside the caller's transactions. See
 * trees.ts for the layout, maintenance.ts for re-clustering, query.ts for the search and
 * list-cache.ts for why cached lists are never stale.
 */
import type { Btree } from '../../database/btree.js';
import { SopError } from '../../errors/sop-error.js';
import type { Transaction } from '../../txn/transaction.js';
import type { LayerHost } from '../host.js';
import type { VectorContext } from './context.js';
import { type VectorLayer, type VectorStoreOptions, checkSameOptions, checkVectorOptions, storedLayer } from './options.js';
import { type VectorStore, VectorStoreHandle } from './store.js';
import { type DataRecord, MAIN_TREE_OPTIONS, openParts } from './trees.js';

export type { VectorStoreOptions } from './options.js';
export type { VectorStore, VectorRecord, VectorStoreInfo } from './store.js';
export type { QueryOptions, QueryHit, MetadataFilter } from './query.js';
export type { VectorStoreCheck } from './verify.js';
export type { Metric } from './metric.js';
export { listCacheOf } from './list-cache.js';

/** Creates the store, or opens it when it exists with the same options (INVALID_ARGUMENT otherwise). */
export async function newVectorStore(host: LayerHost, tx: Transaction, name: string, options: VectorStoreOptions): Promise<VectorStore> {
  const wanted = checkVectorOptions(options);
  try {
    const existing = await host.openMain<string, DataRecord>(tx, name, 'vector');
    const layer = storedLayer(name, existing.layer);
    checkSameOptions(name, layer, options as unknown as Record<string, unknown>, wanted);
    return handle(host, tx, name, layer, existing.tree);
  } catch (error) {
    if (!SopError.is(error, 'STORE_NOT_FOUND')) throw error;
  }
  const main = await host.createMain<string, DataRecord>(tx, name, 'vector', { ...wanted }, MAIN_TREE_OPTIONS);
  const layer = main.created ? wanted : storedLayer(name, main.layer);
  if (!main.created) checkSameOptions(name, layer, options as unknown as Record<string, unknown>, wanted);
  return handle(host, tx, name, layer, main.tree);
}

/** Opens an existing store: STORE_NOT_FOUND when missing, INVALID_ARGUMENT when it is not a vector store. */
export async function openVectorStore(host: LayerHost, tx: Transaction, name: string): Promise<VectorStore> {
  const main = await host.openMain<string, DataRecord>(tx, name, 'vector');
  return handle(host, tx, name, storedLayer(name, main.layer), main.tree);
}

async function handle(host: LayerHost, tx: Transaction, name: string, layer: VectorLayer, data: Btree<string, DataRecord>): Promise<VectorStore> {
  const trees = await openParts(host, tx, name, data, layer.dimensions);
  const ctx: VectorContext = { env: host.env, tx, name, layer, trees };
  return new VectorStoreHandle(ctx);
}
