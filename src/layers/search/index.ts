/**
 * The BM25 search index (issue #16), inside the caller's transactions. See trees.ts for the
 * layout, stats.ts for exact statistics under concurrency, scoring.ts for the formula and the
 * exact top-k.
 */
import type { Btree } from '../../database/btree.js';
import { SopError } from '../../errors/sop-error.js';
import type { Transaction } from '../../txn/transaction.js';
import type { LayerHost } from '../host.js';
import type { Analyzer } from './analyzer.js';
import { type SearchIndex, SearchIndexHandle } from './handle.js';
import { type SearchIndexOptions, type SearchLayer, checkSameOptions, checkSearchOptions, storedLayer } from './options.js';
import { type DocRecord, MAIN_TREE_OPTIONS, openParts } from './trees.js';

export type { SearchIndexOptions } from './options.js';
export type { SearchIndex, SearchOptions } from './handle.js';
export type { SearchHit } from './scoring.js';
export type { SearchIndexCheck } from './verify.js';
export { type Analyzer, standardAnalyzer } from './analyzer.js';

/** Creates the index, or opens it when it exists with the same options (INVALID_ARGUMENT otherwise). */
export async function newSearchIndex(host: LayerHost, tx: Transaction, name: string, options: SearchIndexOptions = {}): Promise<SearchIndex> {
  const { layer: wanted, analyzer } = checkSearchOptions(options);
  const given = (options ?? {}) as Record<string, unknown>;
  try {
    const existing = await host.openMain<string, DocRecord>(tx, name, 'search');
    const layer = storedLayer(name, existing.layer);
    checkSameOptions(name, layer, given, wanted);
    return handle(host, tx, name, layer, analyzer, existing.tree);
  } catch (error) {
    if (!SopError.is(error, 'STORE_NOT_FOUND')) throw error;
  }
  const main = await host.createMain<string, DocRecord>(tx, name, 'search', { ...wanted }, MAIN_TREE_OPTIONS);
  const layer = main.created ? wanted : storedLayer(name, main.layer);
  if (!main.created) checkSameOptions(name, layer, given, wanted);
  return handle(host, tx, name, layer, analyzer, main.tree);
}

/** Opens an existing index: STORE_NOT_FOUND when missing; one with a custom analyzer needs newSearchIndex with it. */
export async function openSearchIndex(host: LayerHost, tx: Transaction, name: string): Promise<SearchIndex> {
  const main = await host.openMain<string, DocRecord>(tx, name, 'search');
  const layer = storedLayer(name, main.layer);
  const { analyzer } = checkSearchOptions({});
  checkSameOptions(name, layer, {}, { ...layer, analyzer: 'standard' });
  return handle(host, tx, name, layer, analyzer, main.tree);
}

async function handle(host: LayerHost, tx: Transaction, name: string, layer: SearchLayer, analyzer: Analyzer, docs: Btree<string, DocRecord>): Promise<SearchIndex> {
  return new SearchIndexHandle(host.env, tx, name, layer, analyzer, await openParts(host, tx, name, docs));
}
