import type { Readable, Writable } from 'node:stream';
import { invalid } from '../../errors/sop-error.js';
import { ChunkIO } from './chunk-io.js';
import { chunkCount } from './meta.js';
import { checkByteCount, checkValueName } from './options.js';
import { writeAt } from './partial.js';
import { type ReadRange, createChunkReadStream } from './read-stream.js';
import { type StreamVerifyReport, verifyStore } from './verify.js';
import { createChunkWriteStream } from './write-stream.js';

export interface StreamStat {
  /** Bytes in the value. */
  size: number;
  /** Bytes per chunk (the store's). */
  chunkSize: number;
  /** Chunks the value takes: ceil(size / chunkSize). */
  chunks: number;
}

/** Names `list` reads per B-tree walk: the walk's cursor is shared, so it is re-seeked per batch. */
const LIST_BATCH = 256;

/**
 * A stream store opened in one transaction: large values cut into chunks, each chunk a B-tree
 * value in its own blob, every change inside the caller's transaction (README "Streams, models,
 * export"; spec STREAM-1..STREAM-5).
 */
export class StreamStore {
  constructor(private readonly io: ChunkIO) {}

  /** The store's name. */
  get name(): string {
    return this.io.store;
  }

  /** Bytes per chunk, fixed at creation. */
  get chunkSize(): number {
    return this.io.chunkSize;
  }

  /** A Writable that replaces the value `name`; durable when the transaction commits. */
  createWriteStream(name: string): Writable {
    return createChunkWriteStream(this.io, checkValueName(name));
  }

  /** A Readable of the bytes `start..end` of `name`, both inclusive (as fs.createReadStream). */
  createReadStream(name: string, range?: ReadRange): Readable {
    return createChunkReadStream(this.io, checkValueName(name), range);
  }

  /** Overwrites (and extends) bytes at `offset`; only the chunks touched are rewritten. `offset` == size appends. */
  async write(name: string, offset: number, bytes: Uint8Array): Promise<void> {
    checkValueName(name);
    checkByteCount(offset, 'offset');
    if (!(bytes instanceof Uint8Array)) throw invalid('bytes must be a Uint8Array');
    if (offset + bytes.length > Number.MAX_SAFE_INTEGER) throw invalid('offset + bytes.length is too large');
    await this.io.state.lock.run(() => writeAt(this.io, name, offset, bytes));
  }

  async stat(name: string): Promise<StreamStat | undefined> {
    checkValueName(name);
    const meta = await this.io.state.lock.run(() => this.io.readMeta(name));
    if (!meta || meta.gen === null) return undefined;
    return { size: meta.size, chunkSize: this.io.chunkSize, chunks: chunkCount(meta.size, this.io.chunkSize) };
  }

  /** Removes the value and its chunks; false when there was none. */
  async remove(name: string): Promise<boolean> {
    checkValueName(name);
    this.io.tx.ensureWritable();
    return this.io.state.lock.run(async () => {
      const meta = await this.io.readMeta(name);
      if (!meta) return false;
      const existed = meta.gen !== null;
      await this.io.reclaimAbandoned(name, meta);
      await this.io.dropValue(name, meta);
      await this.io.saveMeta(name, meta);
      return existed;
    });
  }

  /** Checks that the chunks and the values agree (spec STREAM-4); reads every chunk. */
  async verify(): Promise<StreamVerifyReport> {
    return this.io.state.lock.run(() => verifyStore(this.io));
  }

  /** The names of the values, in order, that start with `prefix`. */
  async *list(options: { prefix?: string } = {}): AsyncGenerator<string> {
    if (options === null || typeof options !== 'object') throw invalid('list options must be an object { prefix }');
    const prefix = options.prefix ?? '';
    if (typeof prefix !== 'string') throw invalid('prefix must be a string');
    let after: string | undefined;
    for (;;) {
      const batch = await this.io.state.lock.run(() => this.io.names(prefix, after, LIST_BATCH));
      yield* batch.names;
      if (batch.done || batch.names.length === 0) return;
      after = batch.names[batch.names.length - 1];
    }
  }
}
