import { localBlobs } from '../blobs/blob-store.js';
import type { BlobsFactory } from '../blobs/blobs.js';
import type { Env } from '../ports/env.js';
import { validateErasureCoding } from './config.js';
import { ErasureBlobStore } from './erasure-blob-store.js';
import { RsCodec } from './rs-codec.js';

/**
 * The blobs of every store: local files by default, or erasure coded across drives when the
 * database was opened with `erasureCoding` (validated here: INVALID_ARGUMENT when malformed).
 */
export function blobsFactory(env: Env, erasureCoding: unknown): BlobsFactory {
  if (erasureCoding === undefined) return localBlobs(env);
  const config = validateErasureCoding(erasureCoding);
  const codec = new RsCodec(config.dataShards, config.parityShards);
  return { external: true, open: (storeName, storeDir) => new ErasureBlobStore(env, config, storeName, storeDir, codec) };
}
