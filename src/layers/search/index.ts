// Placeholder: the BM25 search index (issue #16) is built here.
import { invalid } from '../../errors/sop-error.js';
import type { Transaction } from '../../txn/transaction.js';
import type { LayerHost } from '../host.js';

export interface SearchIndexOptions { k1?: number; b?: number }
export type SearchIndex = never;

export async function newSearchIndex(_host: LayerHost, _tx: Transaction, _name: string, _options: SearchIndexOptions = {}): Promise<SearchIndex> {
  throw invalid('search indexes are not built yet');
}

export async function openSearchIndex(_host: LayerHost, _tx: Transaction, _name: string): Promise<SearchIndex> {
  throw invalid('search indexes are not built yet');
}
