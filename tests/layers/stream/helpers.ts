/** Shared fixtures of the stream store tests. */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database, Transaction } from '../../../src/index.js';
import type { StreamStore, StreamVerifyReport } from '../../../src/layers/stream/index.js';

/** Every byte a Readable yields. */
export async function readAll(stream: Readable): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return new Uint8Array(Buffer.concat(parts));
}

/** Writes `bytes` through a write stream, cut into pieces of the given sizes (cycled). */
export async function streamIn(media: StreamStore, name: string, bytes: Uint8Array, pieces: readonly number[] = [4096]): Promise<void> {
  const parts: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.max(1, pieces[i % pieces.length]!);
    parts.push(bytes.subarray(at, at + n));
    at += n;
  }
  await pipeline(Readable.from(parts), media.createWriteStream(name));
}

/** A deterministic byte pattern: `seed` tells values apart, every byte depends on its offset. */
export function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) & 0xff;
  }
  return out;
}

/** The whole value, or undefined when there is none. */
export async function valueOf(media: StreamStore, name: string): Promise<Uint8Array | undefined> {
  if (!(await media.stat(name))) return undefined;
  return readAll(media.createReadStream(name));
}

/** A Writable that swallows everything, counting bytes. */
export function sink(): Writable & { bytes: number } {
  const w = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      w.bytes += chunk.length;
      callback();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

/** Opens the stream store `name` in `tx` (creating it with `chunkSize` when missing). */
export async function media(db: Database, tx: Transaction, chunkSize: number, name = 'media'): Promise<StreamStore> {
  return db.newStreamStore(tx, name, { chunkSize });
}

/** Orphan blobs and item counts of a stream store's two B-trees (spec STREAM-4). */
export async function storeHealth(db: Database, name = 'media'): Promise<{ orphans: number; metas: number; chunks: number }> {
  const main = await db.checkStore(name);
  const chunks = await db.checkStore(`${name}@chunks`);
  return { orphans: main.orphanBlobs + chunks.orphanBlobs, metas: main.count, chunks: chunks.count };
}

/** media.verify() in a read transaction of its own (spec STREAM-4). */
export async function verified(db: Database, name = 'media'): Promise<StreamVerifyReport> {
  return db.transaction('read', async (tx) => (await db.openStreamStore(tx, name)).verify());
}
