import { invalid } from '../../errors/sop-error.js';
import type { ChunkIO } from './chunk-io.js';
import { chunkLength, emptyMeta } from './meta.js';

/**
 * `media.write(name, offset, bytes)`: overwrites bytes at `offset`, extending the value when
 * they reach past its end. `offset` may equal the size (an append: a missing value has size 0,
 * so writing at 0 creates it); past the end is INVALID_ARGUMENT, checked before anything is
 * written. Only the chunks the bytes touch are rewritten (spec STREAM-3). The caller holds the lock.
 */
export async function writeAt(io: ChunkIO, name: string, offset: number, bytes: Uint8Array): Promise<void> {
  io.tx.ensureWritable();
  const found = await io.readMeta(name);
  const size = found?.size ?? 0;
  if (offset > size) throw invalid(`offset ${offset} is past the end of stream value ${JSON.stringify(name)} (${size} bytes)`);
  if (bytes.length === 0) return;
  const meta = await io.reclaimAbandoned(name, found ?? emptyMeta());
  if (meta.gen === null) meta.gen = meta.nextGen++;
  const cs = io.chunkSize;
  const end = offset + bytes.length;
  const newSize = Math.max(size, end);
  for (let index = Math.floor(offset / cs); index * cs < end; index++) {
    const start = index * cs;
    const length = chunkLength(newSize, cs, index);
    const from = Math.max(offset, start);
    const to = Math.min(end, start + length);
    const piece = bytes.subarray(from - offset, to - offset);
    const oldLength = chunkLength(size, cs, index);
    // A chunk the bytes cover whole needs no read; otherwise the untouched part is kept.
    let chunk = piece;
    if (from > start || to < start + length) {
      chunk = new Uint8Array(length);
      if (oldLength > 0) chunk.set(await io.readChunk(name, meta.gen, index, oldLength));
      chunk.set(piece, from - start);
    }
    await io.putChunk(name, meta.gen, index, chunk);
  }
  meta.size = newSize;
  await io.writeMeta(name, meta);
}
