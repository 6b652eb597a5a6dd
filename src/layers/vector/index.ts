// Placeholder: the vector store (issue #16) is built here.
import { invalid } from '../../errors/sop-error.js';
import type { Transaction } from '../../txn/transaction.js';
import type { LayerHost } from '../host.js';

export interface VectorStoreOptions { dimensions: number; metric?: 'cosine' | 'l2' | 'dot' }
export type VectorStore = never;

export async function newVectorStore(_host: LayerHost, _tx: Transaction, _name: string, _options: VectorStoreOptions): Promise<VectorStore> {
  throw invalid('vector stores are not built yet');
}

export async function openVectorStore(_host: LayerHost, _tx: Transaction, _name: string): Promise<VectorStore> {
  throw invalid('vector stores are not built yet');
}
