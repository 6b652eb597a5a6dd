import { Readable } from 'node:stream';
import { invalid, toSopError } from '../../errors/sop-error.js';
import type { ChunkIO } from './chunk-io.js';
import { chunkLength } from './meta.js';
import { checkByteCount } from './options.js';

export interface ReadRange {
  /** First byte (default 0). */
  start?: number;
  /** Last byte, inclusive as in fs.createReadStream (default: the last byte of the value). */
  end?: number;
}

/**
 * `media.createReadStream(name, { start, end })`: the bytes start..end (both inclusive) as a
 * Readable of Buffers, one chunk read per `_read`, so memory stays near one chunk whatever the
 * value's size (spec STREAM-5). Arguments are checked now; the range against the value's size
 * when reading starts: a missing value, `end` at or past the size, or `start` past the size is
 * INVALID_ARGUMENT (spec STREAM-2). `start` equal to the size with no `end` reads nothing (resume
 * after the last byte).
 */
export function createChunkReadStream(io: ChunkIO, name: string, range: ReadRange | undefined): Readable {
  const { start, end } = checkRange(range);
  io.tx.ensureActive();
  let gen = 0;
  let size = 0;
  let pos = start;
  let last = -1;
  return new Readable({
    construct(callback) {
      io.state.lock.run(async () => {
        const meta = await io.readMeta(name);
        if (!meta || meta.gen === null) throw invalid(`there is no stream value ${JSON.stringify(name)} in ${io.store}`);
        ({ gen, size } = meta as { gen: number; size: number });
        if (end !== undefined && end >= size) throw invalid(`end ${end} is past the end of stream value ${JSON.stringify(name)} (${size} bytes)`);
        if (start > size) throw invalid(`start ${start} is past the end of stream value ${JSON.stringify(name)} (${size} bytes)`);
        last = end ?? size - 1;
      }).then(() => callback(), (error: unknown) => callback(toSopError(error, `read ${name}`)));
    },
    read() {
      if (pos > last) {
        this.push(null);
        return;
      }
      io.state.lock.run(async () => {
        const index = Math.floor(pos / io.chunkSize);
        const base = index * io.chunkSize;
        const chunk = await io.readChunk(name, gen, index, chunkLength(size, io.chunkSize, index));
        const to = Math.min(chunk.length, last - base + 1);
        return Buffer.from(chunk.buffer, chunk.byteOffset + (pos - base), to - (pos - base));
      }).then(
        (piece) => {
          pos += piece.length;
          this.push(piece);
        },
        (error: unknown) => this.destroy(toSopError(error, `read ${name}`)),
      );
    },
  });
}

function checkRange(range: ReadRange | undefined): { start: number; end: number | undefined } {
  if (range === undefined) return { start: 0, end: undefined };
  if (range === null || typeof range !== 'object') throw invalid('read stream options must be an object { start, end }');
  const start = range.start === undefined ? 0 : checkByteCount(range.start, 'start');
  const end = range.end === undefined ? undefined : checkByteCount(range.end, 'end');
  if (end !== undefined && start > end) throw invalid(`start ${start} is after end ${end}`);
  return { start, end };
}
