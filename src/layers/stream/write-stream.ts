import { Writable } from 'node:stream';
import { invalid, toSopError } from '../../errors/sop-error.js';
import type { ChunkIO } from './chunk-io.js';
import { emptyMeta } from './meta.js';
import { genId } from './tx-state.js';

/**
 * `media.createWriteStream(name)`: replaces the value with the bytes written, durable when the
 * transaction commits. Each full chunk goes to the B-tree before the next piece is accepted
 * (back-pressure), so the stream holds at most one chunk of its own. The chunks fill a fresh
 * generation that becomes the value only at `end()`; until then readers see the old value (spec
 * STREAM-1). A stream that fails or is destroyed removes what it wrote (STREAM-4); one written
 * after its transaction ended gets TX_CLOSED and writes nothing (STREAM-6).
 */
export function createChunkWriteStream(io: ChunkIO, name: string): Writable {
  io.tx.ensureWritable();
  const writer = new ChunkWriter(io, name);
  const done = (callback: (error?: Error | null) => void) => (p: Promise<void>) => p.then(() => callback(), (e: unknown) => callback(toSopError(e, `write ${name}`)));
  return new Writable({
    objectMode: true, // so a bad piece is our typed error, not Node's TypeError
    highWaterMark: 2, // pieces queued while a chunk is stored: back-pressure reaches the source early
    construct: (callback) => void done(callback)(writer.start()),
    write: (piece: unknown, encoding, callback) => void done(callback)(writer.feed(piece, encoding)),
    final: (callback) => void done(callback)(writer.finish()),
    destroy: (error, callback) => void writer.abandon().finally(() => callback(error)),
  });
}

/** A piece as bytes (strings in their encoding, UTF-8 by default); anything else is INVALID_ARGUMENT. */
function bytesOf(piece: unknown, encoding: BufferEncoding): Uint8Array {
  if (typeof piece === 'string') return Buffer.from(piece, Buffer.isEncoding(encoding) ? encoding : 'utf8');
  if (piece instanceof Uint8Array) return piece;
  throw invalid(`a stream value is written as Uint8Array or string pieces, got ${typeof piece}`);
}

/** The state of one write stream: its generation, the chunks stored, the partial chunk in hand. */
class ChunkWriter {
  private gen: number | null = null;
  private written = 0;
  private total = 0;
  private buffer: Uint8Array | null = null;
  private fill = 0;
  private finished = false;

  constructor(
    private readonly io: ChunkIO,
    private readonly name: string,
  ) {}

  /** Takes a fresh generation, marked pending in the value's meta until the stream finishes. */
  async start(): Promise<void> {
    await this.io.state.lock.run(async () => {
      this.io.tx.ensureWritable();
      const meta = await this.io.reclaimAbandoned(this.name, (await this.io.readMeta(this.name)) ?? emptyMeta());
      this.gen = meta.nextGen++;
      meta.pending.push(this.gen);
      await this.io.writeMeta(this.name, meta);
      this.io.state.liveGens.add(genId(this.name, this.gen));
    });
  }

  /** Stores each chunk as it fills; a whole chunk in the input is stored without a copy. */
  async feed(piece: unknown, encoding: BufferEncoding): Promise<void> {
    this.io.tx.ensureWritable(); // TX_CLOSED even for a piece that fills no chunk
    const bytes = bytesOf(piece, encoding);
    const cs = this.io.chunkSize;
    for (let at = 0; at < bytes.length; ) {
      if (this.fill === 0 && bytes.length - at >= cs) {
        await this.store(bytes.subarray(at, at + cs));
        at += cs;
        continue;
      }
      this.buffer ??= new Uint8Array(cs);
      const n = Math.min(cs - this.fill, bytes.length - at);
      this.buffer.set(bytes.subarray(at, at + n), this.fill);
      this.fill += n;
      at += n;
      if (this.fill === cs) await this.store(this.buffer);
    }
    this.total += bytes.length;
  }

  /** Stores the last partial chunk, then switches the value to this generation and drops the old one. */
  async finish(): Promise<void> {
    if (this.fill > 0) await this.store(this.buffer!.subarray(0, this.fill));
    await this.io.state.lock.run(async () => {
      this.io.tx.ensureWritable();
      const meta = await this.io.reclaimAbandoned(this.name, (await this.io.readMeta(this.name)) ?? emptyMeta());
      await this.io.dropValue(this.name, meta);
      meta.gen = this.gen;
      meta.size = this.total;
      meta.pending = meta.pending.filter((g) => g !== this.gen);
      await this.io.writeMeta(this.name, meta);
      this.io.state.liveGens.delete(genId(this.name, this.gen!));
      this.finished = true;
    });
  }

  /**
   * A stream that did not finish takes its chunks and its pending mark back while its
   * transaction allows it; once that transaction committed, the next change to the value
   * reclaims them (STREAM-4). Never fails: it runs on the way out of a failed stream, and what
   * it could not undo is reclaimed like an abandoned stream's.
   */
  async abandon(): Promise<void> {
    if (this.finished || this.gen === null) return;
    const gen = this.gen;
    this.io.state.liveGens.delete(genId(this.name, gen));
    if (this.io.tx.state !== 'active' || this.io.tx.mode !== 'write') return;
    await this.io.state.lock
      .run(async () => {
        await this.io.removeChunks(this.name, gen, 0, this.written);
        const meta = await this.io.readMeta(this.name);
        if (!meta) return;
        meta.pending = meta.pending.filter((g) => g !== gen);
        await this.io.saveMeta(this.name, meta);
      })
      .catch(() => undefined); // chunks left pending are invisible, removed by the next change of the value and reported by verify() (STREAM-4)
  }

  private async store(bytes: Uint8Array): Promise<void> {
    await this.io.state.lock.run(async () => {
      this.io.tx.ensureWritable();
      await this.io.putChunk(this.name, this.gen!, this.written, bytes);
      this.written++;
    });
    this.fill = 0;
  }
}
