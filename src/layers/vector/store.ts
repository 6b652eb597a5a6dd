/**
 * A vector store opened in one transaction: what users call. Every argument is checked before
 * anything is written (spec VEC-6); every write changes the data and the index in this
 * transaction, together or not at all (VEC-1, VEC-2).
 */
import { invalid } from '../../errors/sop-error.js';
import { dataKey, entryMetadata, float32Bytes, float32Of, packEntry, parseMetadata, sameBytes, toFloat32 } from './codec.js';
import type { VectorContext } from './context.js';
import { optimize, tick } from './maintenance.js';
import type { Metric } from './metric.js';
import { indexForm } from './metric.js';
import { entryOf, place, unplace } from './placement.js';
import { type MetadataFilter, type QueryHit, type QueryOptions, query } from './query.js';
import { checkId, checkK, checkOptionsObject, describe, jsonText } from './args.js';
import { guardWrite } from './tx-helpers.js';
import { type StateRecord, liveVersions, readState } from './state.js';
import type { DataRecord, Placement } from './trees.js';
import { type VectorStoreCheck, verifyStore } from './verify.js';

export interface VectorRecord {
  id: string;
  vector: Float32Array;
  metadata: unknown;
}

/** Where the index stands (`vs.info()`). */
export interface VectorStoreInfo {
  count: number;
  /** Active version and its number of lists. */
  version: number;
  lists: number;
  /** A re-clustering is being migrated into the next version. */
  building: boolean;
  /** The previous version is still being deleted. */
  dropping: boolean;
}

export interface VectorStore {
  readonly name: string;
  readonly dimensions: number;
  readonly metric: Metric;
  /** Vectors as this transaction sees them. */
  readonly count: number;
  /** Inserts or replaces the vector (and metadata) of `id`. */
  upsert(id: string, vector: Float32Array | number[], metadata?: unknown): Promise<void>;
  get(id: string): Promise<VectorRecord | undefined>;
  remove(id: string): Promise<boolean>;
  /** The k best by score (higher is better), ties by id. */
  query(vector: Float32Array | number[], options: QueryOptions): Promise<QueryHit[]>;
  /** Re-clusters now, in this transaction (it also happens by itself as the data grows). */
  optimize(): Promise<void>;
  info(): Promise<VectorStoreInfo>;
  /** Checks that index and data agree exactly (VEC-2); `problems` is empty when they do. */
  verify(): Promise<VectorStoreCheck>;
}

export class VectorStoreHandle implements VectorStore {
  constructor(private readonly ctx: VectorContext) {}

  get name(): string {
    return this.ctx.name;
  }

  get dimensions(): number {
    return this.ctx.layer.dimensions;
  }

  get metric(): Metric {
    return this.ctx.layer.metric;
  }

  get count(): number {
    return this.ctx.trees.data.count;
  }

  async upsert(id: string, vector: Float32Array | number[], metadata?: unknown): Promise<void> {
    checkId(id);
    const v = toFloat32(vector, this.dimensions);
    const ix = indexForm(v, this.metric);
    const m = jsonText(metadata);
    this.ctx.tx.ensureWritable();
    await guardWrite(this.ctx.tx, `upsert into vector store ${this.name}`, async () => {
      const state = await readState(this.ctx.trees);
      const live = liveVersions(state);
      const key = dataKey(id);
      const old = await this.record(key);
      const entry = packEntry(float32Bytes(v), m);
      if (old && (await this.unchanged(id, old, entry, state))) return;
      if (old) await unplace(this.ctx, id, old, live);
      const at: Placement[] = [];
      for (const version of live) at.push(await place(this.ctx, version, id, entry, ix));
      await this.ctx.trees.data.upsert(key, { at });
      await tick(this.ctx, state);
    });
  }

  async get(id: string): Promise<VectorRecord | undefined> {
    checkId(id);
    const record = await this.record(dataKey(id));
    if (!record) return undefined;
    const entry = await entryOf(this.ctx, (await readState(this.ctx.trees)).active.ver, id, record);
    return { id, vector: float32Of(entry, this.dimensions), metadata: parseMetadata(entryMetadata(entry, this.dimensions)) };
  }

  async remove(id: string): Promise<boolean> {
    checkId(id);
    this.ctx.tx.ensureWritable();
    return guardWrite(this.ctx.tx, `remove from vector store ${this.name}`, async () => {
      const state = await readState(this.ctx.trees);
      const key = dataKey(id);
      const old = await this.record(key);
      if (!old) return false;
      await unplace(this.ctx, id, old, liveVersions(state));
      await this.ctx.trees.data.remove(key);
      await tick(this.ctx, state);
      return true;
    });
  }

  async query(vector: Float32Array | number[], options: QueryOptions): Promise<QueryHit[]> {
    const v = toFloat32(vector, this.dimensions, 'query vector');
    const o = checkOptionsObject(options, 'query options');
    const k = checkK(o.k);
    const filter = o.filter;
    if (filter !== undefined && typeof filter !== 'function') throw invalid(`filter must be a function, got ${describe(filter)}`);
    const nprobe = o.nprobe;
    if (nprobe !== undefined && !(nprobe === Infinity || (typeof nprobe === 'number' && Number.isInteger(nprobe) && nprobe >= 1))) {
      throw invalid(`nprobe must be an integer >= 1 or Infinity, got ${describe(nprobe)}`);
    }
    if (this.metric === 'cosine') indexForm(v, 'cosine', 'query vector'); // the zero vector: INVALID_ARGUMENT before any read
    this.ctx.tx.ensureActive();
    return query(this.ctx, v, k, filter as MetadataFilter | undefined, nprobe as number | undefined);
  }

  async optimize(): Promise<void> {
    this.ctx.tx.ensureWritable();
    await guardWrite(this.ctx.tx, `optimize vector store ${this.name}`, async () => optimize(this.ctx, await readState(this.ctx.trees)));
  }

  async info(): Promise<VectorStoreInfo> {
    const state = await readState(this.ctx.trees);
    return { count: this.count, version: state.active.ver, lists: state.active.nlist, building: state.next !== undefined, dropping: state.drop !== undefined };
  }

  async verify(): Promise<VectorStoreCheck> {
    return verifyStore(this.ctx);
  }

  private async record(key: string): Promise<DataRecord | undefined> {
    if (!(await this.ctx.trees.data.find(key))) return undefined;
    return this.ctx.trees.data.getCurrentValue();
  }

  /** Same vector and metadata, placed in every live version: an upsert that changes nothing writes nothing. */
  private async unchanged(id: string, old: DataRecord, entry: Uint8Array, state: StateRecord): Promise<boolean> {
    if (!liveVersions(state).every((version) => old.at.some(([v]) => v === version.ver))) return false;
    return sameBytes(await entryOf(this.ctx, state.active.ver, id, old), entry);
  }
}
