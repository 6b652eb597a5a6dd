// Placeholder: the stream store (issue #17) is built here.
import { invalid } from '../../errors/sop-error.js';
import type { Transaction } from '../../txn/transaction.js';
import type { LayerHost } from '../host.js';

export interface StreamStoreOptions { chunkSize?: number }
export type StreamStore = never;

export async function newStreamStore(_host: LayerHost, _tx: Transaction, _name: string, _options: StreamStoreOptions = {}): Promise<StreamStore> {
  throw invalid('stream stores are not built yet');
}

export async function openStreamStore(_host: LayerHost, _tx: Transaction, _name: string): Promise<StreamStore> {
  throw invalid('stream stores are not built yet');
}
