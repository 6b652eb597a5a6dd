import type { Btree } from '../../database/btree.js';
import { SopError, corrupt } from '../../errors/sop-error.js';
import type { Transaction } from '../../txn/transaction.js';
import { type ChunkKey, type Meta, checkMeta, chunkCount, chunkKey } from './meta.js';
import { type TxStoreState, genId } from './tx-state.js';

/**
 * The stream store's B-tree primitives: meta records in the main tree, chunks in the `chunks`
 * part (each chunk its own value blob). Callers hold the store's lock (tx-state.ts); nothing here
 * takes it, so operations compose without deadlock.
 */
export class ChunkIO {
  constructor(
    readonly tx: Transaction,
    readonly store: string,
    readonly chunkSize: number,
    private readonly main: Btree<string, Meta>,
    private readonly chunks: Btree<ChunkKey, Uint8Array>,
    readonly state: TxStoreState,
  ) {}

  async readMeta(name: string): Promise<Meta | undefined> {
    if (!(await this.main.find(name))) return undefined;
    return checkMeta(await this.main.getCurrentValue(), name);
  }

  async writeMeta(name: string, meta: Meta): Promise<void> {
    await this.main.upsert(name, meta);
  }

  async deleteMeta(name: string): Promise<void> {
    await this.main.remove(name);
  }

  /** Chunk `index` of `gen`; CONFLICT when it is missing (the value changed under the reader). */
  async readChunk(name: string, gen: number, index: number, expectedLength: number): Promise<Uint8Array> {
    const found = await this.chunks.find(chunkKey(name, gen, index));
    const bytes = found ? await this.chunks.getCurrentValue() : undefined;
    if (bytes === undefined) throw new SopError('CONFLICT', `stream value ${JSON.stringify(name)} changed while it was read; retry`);
    if (!(bytes instanceof Uint8Array)) throw corrupt(`stream value ${JSON.stringify(name)}: chunk ${index} is not bytes`);
    if (bytes.length !== expectedLength) throw new SopError('CONFLICT', `stream value ${JSON.stringify(name)} changed while it was read; retry`);
    return bytes;
  }

  /** Writes a chunk; the B-tree copies the bytes, so the caller may reuse its buffer. */
  async putChunk(name: string, gen: number, index: number, bytes: Uint8Array): Promise<void> {
    await this.chunks.upsert(chunkKey(name, gen, index), bytes);
  }

  /** Removes chunks `from..to-1` of a generation whose length is known. */
  async removeChunks(name: string, gen: number, from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) await this.chunks.remove(chunkKey(name, gen, i));
  }

  /** Removes every chunk of a generation whose length is not known (an abandoned stream's), by exact keys. */
  async removeGeneration(name: string, gen: number): Promise<void> {
    for (let i = 0; await this.chunks.remove(chunkKey(name, gen, i)); i++);
  }

  /**
   * Makes `meta` (of `name`, read in this transaction) ready for a change: the generations of
   * abandoned streams (listed as pending but not running in this transaction) are removed (STREAM-4).
   */
  async reclaimAbandoned(name: string, meta: Meta): Promise<Meta> {
    const abandoned = meta.pending.filter((g) => !this.state.liveGens.has(genId(name, g)));
    for (const gen of abandoned) await this.removeGeneration(name, gen);
    meta.pending = meta.pending.filter((g) => !abandoned.includes(g));
    return meta;
  }

  /** Removes the visible value's chunks (its generation becomes free). */
  async dropValue(name: string, meta: Meta): Promise<void> {
    if (meta.gen !== null) await this.removeChunks(name, meta.gen, 0, chunkCount(meta.size, this.chunkSize));
    meta.gen = null;
    meta.size = 0;
  }

  /** Stores the meta, or deletes it when it holds nothing any more. */
  async saveMeta(name: string, meta: Meta): Promise<void> {
    if (meta.gen === null && meta.pending.length === 0) await this.deleteMeta(name);
    else await this.writeMeta(name, meta);
  }

  /** Every meta record, raw, in name order (verify). */
  metaEntries(): AsyncGenerator<[string, unknown]> {
    return this.main.range() as AsyncGenerator<[string, unknown]>;
  }

  /** Every chunk, in key order (verify). */
  chunkEntries(): AsyncGenerator<[ChunkKey, unknown]> {
    return this.chunks.range() as AsyncGenerator<[ChunkKey, unknown]>;
  }

  /** Up to `limit` visible names after `after` (or from `prefix`), in order, that start with `prefix`. */
  async names(prefix: string, after: string | undefined, limit: number): Promise<{ names: string[]; done: boolean }> {
    const names: string[] = [];
    const range = after === undefined ? { gte: prefix } : { gt: after };
    for await (const [name, raw] of this.main.range(range)) {
      if (!name.startsWith(prefix)) return { names, done: true };
      if (checkMeta(raw, name).gen !== null) names.push(name);
      if (names.length >= limit) return { names, done: false };
    }
    return { names, done: true };
  }
}
