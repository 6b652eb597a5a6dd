/**
 * The stream store (issue #17): large values in chunks with Node streams, inside the caller's
 * transactions. Layout: the main tree `<name>` (kind 'stream', layer `{ chunkSize }`) maps each
 * value name to its meta (meta.ts); the part `<name>@chunks` maps `[name, gen, index]` to one
 * chunk, each in its own value blob (`valueInNode: false`).
 */
import type { Btree } from '../../database/btree.js';
import { invalid } from '../../errors/sop-error.js';
import type { Transaction } from '../../txn/transaction.js';
import type { LayerHost } from '../host.js';
import { ChunkIO } from './chunk-io.js';
import type { ChunkKey, Meta } from './meta.js';
import { DEFAULT_CHUNK_SIZE, type StreamStoreOptions, checkStreamOptions, chunkSizeOf } from './options.js';
import { StreamStore } from './store.js';
import { txStoreState } from './tx-state.js';

export { StreamStore, type StreamStat } from './store.js';
export type { StreamStoreOptions } from './options.js';
export type { ReadRange } from './read-stream.js';
export type { StreamVerifyReport } from './verify.js';
export { DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE } from './options.js';

const MAIN_OPTIONS = { slotLength: 500, isUnique: true, valueInNode: true } as const;
/** Chunk keys are small, values are blobs: wide nodes keep the tree shallow. */
const CHUNK_OPTIONS = { slotLength: 500, isUnique: true, valueInNode: false } as const;

/** Creates the store, or opens it when it exists with the same chunk size (omitted: whatever it has). */
export async function newStreamStore(host: LayerHost, tx: Transaction, name: string, options: StreamStoreOptions = {}): Promise<StreamStore> {
  const asked = checkStreamOptions(options);
  const main = await host.createMain<string, Meta>(tx, name, 'stream', { chunkSize: asked ?? DEFAULT_CHUNK_SIZE }, MAIN_OPTIONS);
  const chunkSize = chunkSizeOf(main.layer, name);
  if (asked !== undefined && asked !== chunkSize) throw invalid(`stream store ${name} exists with chunkSize ${chunkSize}, not ${asked}`);
  return open(host, tx, name, main.tree, chunkSize);
}

/** Opens an existing store: STORE_NOT_FOUND when missing, INVALID_ARGUMENT when it is not a stream store. */
export async function openStreamStore(host: LayerHost, tx: Transaction, name: string): Promise<StreamStore> {
  const main = await host.openMain<string, Meta>(tx, name, 'stream');
  return open(host, tx, name, main.tree, chunkSizeOf(main.layer, name));
}

async function open(host: LayerHost, tx: Transaction, name: string, main: Btree<string, Meta>, chunkSize: number): Promise<StreamStore> {
  const chunks = await host.part<ChunkKey, Uint8Array>(tx, name, 'chunks', CHUNK_OPTIONS);
  return new StreamStore(new ChunkIO(tx, name, chunkSize, main, chunks, txStoreState(tx, name)));
}
