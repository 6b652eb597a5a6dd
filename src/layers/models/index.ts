// Placeholder: the model registry (issue #17) is built here.
import { invalid } from '../../errors/sop-error.js';
import type { Transaction } from '../../txn/transaction.js';
import type { LayerHost } from '../host.js';

export type ModelRegistry = never;

export async function newModelRegistry(_host: LayerHost, _tx: Transaction, _name: string): Promise<ModelRegistry> {
  throw invalid('model registries are not built yet');
}

export async function openModelRegistry(_host: LayerHost, _tx: Transaction, _name: string): Promise<ModelRegistry> {
  throw invalid('model registries are not built yet');
}
