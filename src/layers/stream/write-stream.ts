import { Writable } from 'node:stream';
import { invalid, toSopError } from '../../errors/sop-error.js';
import type { ChunkIO } from './chunk-io.js';
import { emptyMeta } from './meta.js';
import { genId } from './tx-state.js';

/**
 * `media.createWriteStream(name)`: replaces the value with the bytes written, durable when the
 * transaction commits. Bytes are cut into chunks as they arrive and each full chunk goes to the
 * B-tree before the next write is accepted (back-pressure), so the stream itself holds at most
 * one chunk. The chunks fill a fresh generation that becomes the value only at `end()`; until
 * then readers see the old value (spec STREAM-1). A stream that fails or is destroyed removes
 * what it wrote; one written after its transaction ended gets TX_CLOSED and writes nothing.
 */
export function createChunkWriteStream(io: ChunkIO, name: string): Writable {
  io.tx.ensureWritable();
  const cs = io.chunkSize;
  let gen: number | null = null;
  let written = 0; // chunks stored
  let total = 0; // bytes accepted
  let buffer: Uint8Array | null = null;
  let fill = 0;
  let finished = false;

  const store = (bytes: Uint8Array): Promise<void> =>
    io.state.lock.run(async () => {
      io.tx.ensureWritable();
      await io.putChunk(name, gen!, written, bytes);
      written++;
    });

  /** Copies into the chunk buffer, storing each chunk as it fills; a whole chunk in the input is stored without a copy. */
  const feed = async (bytes: Uint8Array): Promise<void> => {
    let at = 0;
    while (at < bytes.length) {
      if (fill === 0 && bytes.length - at >= cs) {
        await store(bytes.subarray(at, at + cs));
        at += cs;
        continue;
      }
      buffer ??= new Uint8Array(cs);
      const n = Math.min(cs - fill, bytes.length - at);
      buffer.set(bytes.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === cs) {
        await store(buffer);
        fill = 0;
      }
    }
    total += bytes.length;
  };

  return new Writable({
    objectMode: true, // so a bad chunk type is our typed error, not Node's TypeError
    highWaterMark: 16,
    construct(callback) {
      io.state.lock.run(async () => {
        io.tx.ensureWritable();
        const meta = await io.reclaimAbandoned(name, (await io.readMeta(name)) ?? emptyMeta());
        gen = meta.nextGen++;
        meta.pending.push(gen);
        await io.writeMeta(name, meta);
        io.state.liveGens.add(genId(name, gen));
      }).then(() => callback(), (error: unknown) => callback(toSopError(error, `write ${name}`)));
    },
    write(chunk: unknown, encoding, callback) {
      if (io.tx.state !== 'active') {
        callback(toSopError(closed(io), `write ${name}`));
        return;
      }
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, Buffer.isEncoding(encoding) ? encoding : 'utf8') : chunk;
      if (!(bytes instanceof Uint8Array)) {
        callback(invalid(`a stream value is written as Uint8Array or string chunks, got ${typeof chunk}`));
        return;
      }
      feed(bytes).then(() => callback(), (error: unknown) => callback(toSopError(error, `write ${name}`)));
    },
    final(callback) {
      (async () => {
        if (fill > 0) await store(buffer!.subarray(0, fill));
        await io.state.lock.run(async () => {
          io.tx.ensureWritable();
          const meta = await io.reclaimAbandoned(name, (await io.readMeta(name)) ?? emptyMeta());
          await io.dropValue(name, meta);
          meta.gen = gen;
          meta.size = total;
          meta.pending = meta.pending.filter((g) => g !== gen);
          await io.writeMeta(name, meta);
          io.state.liveGens.delete(genId(name, gen!));
          finished = true;
        });
      })().then(() => callback(), (error: unknown) => callback(toSopError(error, `write ${name}`)));
    },
    destroy(error, callback) {
      if (finished || gen === null) {
        callback(error);
        return;
      }
      io.state.liveGens.delete(genId(name, gen));
      abandon(io, name, gen, written).finally(() => callback(error));
    },
  });
}

/** The typed error of a write after the transaction ended (TX_CLOSED). */
function closed(io: ChunkIO): unknown {
  try {
    io.tx.ensureWritable();
  } catch (error) {
    return error;
  }
  return invalid('the transaction is not active');
}

/** A stream that did not finish takes its chunks and its pending mark back, when its transaction still allows it. */
async function abandon(io: ChunkIO, name: string, gen: number, written: number): Promise<void> {
  if (io.tx.state !== 'active' || io.tx.mode !== 'write') return; // committed: reclaimed by the next change (STREAM-4)
  await io.state.lock
    .run(async () => {
      await io.removeChunks(name, gen, 0, written);
      const meta = await io.readMeta(name);
      if (!meta) return;
      meta.pending = meta.pending.filter((g) => g !== gen);
      await io.saveMeta(name, meta);
    })
    .catch(() => undefined); // the transaction failed meanwhile: nothing of it commits
}
