import type { Item } from '../btree/node.js';
import { BlockKind, FRAME_HEADER_SIZE, decodeFrame } from '../codec/frame.js';
import { validateKey } from '../codec/key-order.js';
import { decodeValue, encodeValue, encodeValueBlob } from '../codec/value-codec.js';
import { AssertionFailure, SopError, corrupt, invalid, toSopError } from '../errors/sop-error.js';
import type { Store } from '../store/store.js';
import { retryCorrupt } from '../util/retry-corrupt.js';
import type { Transaction } from '../txn/transaction.js';
import type { TreeSession } from '../txn/tree-session.js';

/** New value blobs a transaction may hold in memory per store before it writes them early. */
const SPILL_BYTES = 8 * 1024 * 1024;

export interface RangeOptions<K> {
  gte?: K;
  gt?: K;
  lte?: K;
  lt?: K;
  reverse?: boolean;
  limit?: number;
  /** false: keys only — no value is read or decoded (a separate value's blob is not touched); each entry's value is undefined. Default true. */
  values?: boolean;
}

/**
 * A store opened in one transaction: the cursor-based B-tree API of SOP (E19..E22) plus an
 * async range iterator. Every call checks the transaction is usable; any failure inside an
 * operation leaves the transaction usable only for rollback (spec API-2).
 */
export class Btree<K = unknown, V = unknown> {
  constructor(
    private readonly tx: Transaction,
    private readonly store: Store,
    private readonly s: TreeSession,
  ) {}

  get name(): string {
    return this.store.name;
  }

  /** Items as this transaction sees them (committed count plus its own adds and removes). */
  get count(): number {
    return this.s.count;
  }

  get isUnique(): boolean {
    return this.store.info.isUnique;
  }

  async add(key: K, value: V): Promise<boolean> {
    return this.write(async () => this.insert(key, value, false));
  }

  async addIfNotExist(key: K, value: V): Promise<boolean> {
    return this.write(async () => this.insert(key, value, true));
  }

  async upsert(key: K, value: V): Promise<boolean> {
    return this.write(async () => {
      const storedKey = this.checkKey(key);
      if (await this.locate(key, true)) return this.replaceValue(value);
      return this.insertAbsent(storedKey, value); // the lookup just missed: no second one
    });
  }

  async update(key: K, value: V): Promise<boolean> {
    return this.write(async () => (await this.locate(key)) && this.replaceValue(value));
  }

  async remove(key: K): Promise<boolean> {
    return this.write(async () => (await this.locate(key)) && this.removeCurrent());
  }

  /** Positions the cursor on the key (the first duplicate); on a miss, on the next greater key. */
  async find(key: K, firstItemWithKey = false): Promise<boolean> {
    void firstItemWithKey; // the first duplicate is always the one found
    const found = this.readSync(() => this.locateSync(key, false));
    if (found !== undefined) return found;
    return this.read(() => this.locate(key));
  }

  getCurrentKey(): K | undefined {
    this.tx.ensureActive();
    const item = this.s.tree.current();
    return item ? privateKey<K>(item.key) : undefined;
  }

  async getCurrentValue(): Promise<V | undefined> {
    // A value in the node (or no item) needs no I/O: answered without the async layers.
    const inline = this.readSync(() => {
      const item = this.s.tree.current();
      if (!item) return undefined;
      if (item.valueBlobId !== undefined) return NEEDS_IO;
      this.s.tracker.observe(item);
      return inlineValue(item) as V;
    });
    if (inline !== NEEDS_IO) return inline;
    return this.read(async () => {
      const item = this.s.tree.current();
      if (!item) return undefined;
      this.s.tracker.observe(item);
      return (await this.valueOf(item)) as V;
    });
  }

  async first(): Promise<boolean> {
    return this.navigate(() => this.s.tree.first());
  }

  async last(): Promise<boolean> {
    return this.navigate(() => this.s.tree.last());
  }

  async next(): Promise<boolean> {
    return this.navigate(() => this.s.tree.next());
  }

  async previous(): Promise<boolean> {
    return this.navigate(() => this.s.tree.previous());
  }

  async updateCurrentValue(value: V): Promise<boolean> {
    return this.write(async () => this.s.tree.current() !== undefined && this.replaceValue(value));
  }

  async removeCurrentItem(): Promise<boolean> {
    return this.write(async () => this.s.tree.current() !== undefined && this.removeCurrent());
  }

  /** Entries in key order within the bounds (spec API-3). Walks the cursor, so it marks the transaction as a scanner. */
  async *range(options: RangeOptions<K> = {}): AsyncGenerator<[K, V]> {
    const { reverse = false, limit = Infinity, values = true } = options;
    if (!(limit >= 0)) throw invalid('range limit must be a number >= 0');
    if (typeof values !== 'boolean') throw invalid('range values must be a boolean');
    for (const bound of [options.gte, options.gt, options.lte, options.lt]) if (bound !== undefined) this.checkKey(bound);
    let positioned = await this.navigate(() => this.startRange(options, reverse));
    for (let n = 0; positioned && n < limit; n++) {
      const item = this.s.tree.current()!;
      if (!this.withinEnd(item.key as K, options, reverse)) return;
      // A ranging session is not mergeable (navigate), so a plain read of an item serves no
      // replay: a commit whose read set went stale conflicts whatever the tracker holds.
      if (this.s.mergeable) this.s.tracker.observe(item);
      const value = !values ? undefined : item.valueBlobId === undefined ? this.readSync(() => inlineValue(item)) : await this.read(() => this.valueOf(item));
      yield [privateKey<K>(item.key), value as V];
      if (n + 1 >= limit) return; // no step past the last entry wanted: the cursor rests on it
      // Within a leaf the step needs no node read: done here without the async layers.
      positioned = this.stepInLeaf(reverse) || (await this.navigate(() => (reverse ? this.s.tree.previous() : this.s.tree.next())));
    }
  }

  /** The cursor step of `navigate` when it stays in the current leaf; false when it cannot. */
  private stepInLeaf(reverse: boolean): boolean {
    this.tx.ensureActive();
    this.s.mergeable = false;
    return this.s.tree.stepInLeaf(!reverse);
  }

  /** Seeks the first entry of the range; with both an inclusive and an exclusive bound, the stricter wins. */
  private startRange(o: RangeOptions<K>, reverse: boolean): Promise<boolean> {
    const tree = this.s.tree;
    const c = this.s.compare;
    if (!reverse) {
      const useGt = o.gt !== undefined && (o.gte === undefined || c(o.gt, o.gte) >= 0);
      if (useGt) return tree.seek(o.gt, 'gt');
      return o.gte !== undefined ? tree.seek(o.gte, 'ge') : tree.first();
    }
    const useLt = o.lt !== undefined && (o.lte === undefined || c(o.lt, o.lte) <= 0);
    if (useLt) return tree.seek(o.lt, 'lt');
    return o.lte !== undefined ? tree.seek(o.lte, 'le') : tree.last();
  }

  private withinEnd(key: K, o: RangeOptions<K>, reverse: boolean): boolean {
    const c = this.s.compare;
    if (!reverse) return !(o.lt !== undefined && c(key, o.lt) >= 0) && !(o.lte !== undefined && c(key, o.lte) > 0);
    return !(o.gt !== undefined && c(key, o.gt) <= 0) && !(o.gte !== undefined && c(key, o.gte) < 0);
  }

  /** `locate` when the tree can answer without a node read; undefined (nothing observed) otherwise. */
  private locateSync(key: K, checked: boolean): boolean | undefined {
    if (!checked) this.checkKey(key);
    const found = this.s.tree.findSync(key);
    if (found === true) this.s.tracker.observe(this.s.tree.current()!);
    else if (found === false) this.s.tracker.observeAbsent(key);
    return found;
  }

  private async locate(key: K, checked = false): Promise<boolean> {
    const known = this.locateSync(key, checked);
    if (known !== undefined) return known;
    const found = await this.s.tree.find(key, true);
    if (found) this.s.tracker.observe(this.s.tree.current()!);
    else this.s.tracker.observeAbsent(key);
    return found;
  }

  private async insert(key: K, value: V, onlyIfAbsent: boolean): Promise<boolean> {
    const storedKey = this.checkKey(key);
    if ((onlyIfAbsent || this.store.info.isUnique) && (await this.locate(key, true))) return false;
    return this.insertAbsent(storedKey, value);
  }

  /** Inserts a key a unique tree does not hold (just looked up), or any key of a non-unique tree. */
  private async insertAbsent(storedKey: unknown, value: V): Promise<boolean> {
    const item: Item = { id: this.tx.newId(), key: storedKey, version: 1, ...this.storeValue(value) };
    if (!(await this.s.tree.add(item, true))) return false;
    this.s.tracker.added(item);
    return true;
  }

  private async replaceValue(value: V): Promise<boolean> {
    const before = this.s.tree.current()!;
    const after: Item = { id: before.id, key: before.key, version: this.s.tracker.nextVersion(before), ...this.storeValue(value) };
    this.dropPendingValue(before);
    await this.s.tree.replaceCurrent(after);
    this.s.tracker.updated(before, after);
    return true;
  }

  private async removeCurrent(): Promise<boolean> {
    const item = this.s.tree.current()!;
    this.dropPendingValue(item);
    await this.s.tree.removeCurrent();
    this.s.tracker.removed(item);
    return true;
  }

  /** Values in the node are kept encoded (a private copy); others get a fresh blob id (spec TX-6, SOP hazard E40). */
  private storeValue(value: V): { valueBytes?: Uint8Array; valueBlobId?: string } {
    if (this.store.info.valueInNode) return { valueBytes: encodeValue(value, 'value') };
    const framed = encodeValueBlob(value, 'value'); // the blob as written: one copy of the bytes
    const valueBlobId = this.tx.newBlobId();
    this.s.addPendingValue(valueBlobId, framed);
    return { valueBlobId };
  }

  private dropPendingValue(item: Item): void {
    if (item.valueBlobId) this.s.dropPendingValue(item.valueBlobId);
  }

  private async valueOf(item: Item): Promise<unknown> {
    if (!item.valueBlobId) return inlineValue(item);
    const pending = this.s.pendingValues.get(item.valueBlobId);
    if (pending) return decodeValue(pending.subarray(FRAME_HEADER_SIZE)); // framed by storeValue, in memory since
    const id = item.valueBlobId;
    return retryCorrupt(async () => {
      const bytes = await this.store.blobs.get(id);
      if (!bytes) throw new SopError('CONFLICT', `value of an item in ${this.name} was replaced by a concurrent commit; retry`);
      return decodeValue(decodeFrame(bytes, BlockKind.Value, `value blob ${id}`), 'stored value');
    });
  }

  /** Validates a key and returns a private copy, so later changes by the caller cannot reorder the tree. */
  private checkKey(key: K): unknown {
    if (key === undefined) throw invalid('key is undefined');
    validateKey(key, this.store.info.keyOrder);
    // A valid scalar key is immutable and survives its encoding unchanged (-0 and bigints
    // included): it is its own private copy.
    if (typeof key !== 'object') return key;
    try {
      return decodeValue(encodeValue(key, 'key'));
    } catch (error) {
      if (SopError.is(error, 'CORRUPT')) throw corrupt('key did not survive its own encoding', error);
      throw error;
    }
  }

  /**
   * A write that fails after it may have changed the tree rolls the transaction back: it must
   * never commit half an operation (spec API-2). Argument errors are raised before any change.
   */
  private async write<T>(op: () => Promise<T>): Promise<T> {
    this.tx.ensureWritable();
    try {
      const result = await this.guard(op);
      // Large new values go to storage before the commit, so memory stays bounded (STREAM-5).
      if (this.s.pendingBytes > SPILL_BYTES) await this.guard(() => this.tx.spillValues(this.s));
      return result;
    } catch (error) {
      // The operation's error is the caller's; a rollback that fails too leaves a step log the sweep finishes.
      if (!SopError.is(error, 'INVALID_ARGUMENT')) await this.tx.rollback().catch(() => undefined);
      throw error;
    }
  }

  /** Not async itself: every caller is, so a closed transaction still surfaces as a rejection. */
  private read<T>(op: () => Promise<T>): Promise<T> {
    this.tx.ensureActive();
    return this.guard(op);
  }

  /** `read` for an operation that needs no I/O. */
  private readSync<T>(op: () => T): T {
    this.tx.ensureActive();
    try {
      return op();
    } catch (error) {
      throw this.guardError(error);
    }
  }

  /** Not async itself: every caller is, so a closed transaction still surfaces as a rejection. */
  private navigate(op: () => Promise<boolean>): Promise<boolean> {
    this.tx.ensureActive();
    this.s.mergeable = false;
    return this.guard(op);
  }

  /**
   * Nodes are read lazily, so a concurrent commit can make the path this transaction walks look
   * inconsistent. When its read set is stale, such a surprise is that concurrency, not
   * corruption: it becomes a retryable CONFLICT (the commit-time validation would fail anyway).
   */
  private async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      // Clustered: a commit whose priority log is still there may be applied in part (a sector
      // of it lost to a power loss, its redo pending): a path through it can look inconsistent
      // although the read set is current (found by the clustered simulator, seed 1286524089
      // --nodes 3: a node listed by two parents). That too is a conflict, not corruption.
      if (isStructural(error) && !this.s.isStale() && (await this.tx.readsUnsettledCommit(this.s))) {
        throw new SopError('CONFLICT', `store ${this.name}: a commit this transaction read is not fully applied yet; retry`, { cause: error });
      }
      throw this.guardError(error);
    }
  }

  private guardError(error: unknown): Error {
    if (isStructural(error) && this.s.isStale()) {
      return new SopError('CONFLICT', `store ${this.name} changed under this transaction; retry`, { cause: error });
    }
    return toSopError(error, `store ${this.name}`);
  }
}

const NEEDS_IO: unique symbol = Symbol('needs I/O');

/** A broken B-tree invariant or bytes that do not decode: corruption, or a view that is not one state. */
function isStructural(error: unknown): boolean {
  return error instanceof AssertionFailure || SopError.is(error, 'CORRUPT');
}

/** A value stored in the node, decoded into a private copy. */
function inlineValue(item: Item): unknown {
  return item.valueBytes ? decodeValue(item.valueBytes, 'stored value') : undefined;
}

/** Keys live in shared nodes: callers get a copy of anything mutable (spec API-1, hazard E40). */
function privateKey<K>(key: unknown): K {
  if (typeof key !== 'object' || key === null) return key as K;
  // A stored byte key is a plain Uint8Array (checkKey made it one): a copy is what its encoding's
  // decoding would be, without the two passes (a scan of byte keys spent ~10% of its time there).
  if (key instanceof Uint8Array) return key.slice() as K;
  return decodeValue(encodeValue(key, 'key'), 'key') as K;
}
