import { assert } from '../errors/sop-error.js';
import type { BlobIo, Blobs, BlobsFactory, Redundancy, ScrubProgress, ScrubReport } from './blobs.js';

/**
 * Journal mode's blobs (spec JNL-2, JNL-3), over the blobs of any store (local files or erasure
 * coded shards): a committed blob stays in memory — the journal record holds its bytes — until
 * the checkpoint writes it through the inner store's `putAll`, so a blob replaced before then
 * never touches the disk, and an erasure-coded one is coded once, at the checkpoint. Obsolete
 * files wait for the checkpoint mark to list them before they are deleted.
 */
/**
 * A committed blob held until the checkpoint: its bytes, or (a leaf logged as item changes, spec
 * JNL-1) how to encode them, which runs when something needs the bytes (a read that missed the
 * node cache, the checkpoint). `items` is the committed leaf's items array when the blob is a
 * leaf: a later version copied from that very array is logged as a patch of this blob.
 */
export interface LazyBlob {
  readonly id: string;
  readonly bytes?: Uint8Array;
  readonly encode?: () => Uint8Array;
  readonly items?: readonly unknown[];
  /** Bytes it holds or will: exact with `bytes`, an estimate with `encode`. */
  readonly size: number;
}

/** The blobs a checkpoint writes (LazyBlobs.cut). */
export interface BlobsCut {
  readonly entries: ReadonlyArray<readonly [string, Pending]>;
}

interface Pending {
  bytes: Uint8Array | null;
  /** In a checkpoint's cut: the records after it do not log a leaf against it (JNL-1). */
  cut: boolean;
  readonly encode: (() => Uint8Array) | null;
  readonly items: readonly unknown[] | null;
  readonly size: number;
}

export class LazyBlobs implements Blobs {
  /** Committed blobs not written yet, and files whose deletion waits for the checkpoint. */
  private readonly pending = new Map<string, Pending>();
  private readonly doomed = new Set<string>();
  /** Pending blobs whose files may exist (a flush began writing them, or replay). */
  private readonly maybeOnDisk = new Set<string>();
  private held = 0;

  constructor(readonly inner: Blobs) {}

  get dir(): string {
    return this.inner.dir;
  }

  get external(): boolean {
    return this.inner.external;
  }

  create(): Promise<void> {
    return this.inner.create();
  }

  /** Written at once, durably (store creation, early spills of large values): not journaled. */
  putAll(blobs: ReadonlyArray<{ id: string; bytes: Uint8Array }>): Promise<void> {
    return this.inner.putAll(blobs);
  }

  /** The blobs of a commit whose record is durable (JNL-2). `mayBeOnDisk`: replay, where a failed checkpoint may have written them. */
  putLazily(blobs: readonly LazyBlob[], mayBeOnDisk = false): void {
    for (const blob of blobs) {
      assert(blob.bytes !== undefined || blob.encode !== undefined, `blob ${blob.id}: neither bytes nor an encoder`);
      this.held += blob.size - (this.pending.get(blob.id)?.size ?? 0);
      this.pending.set(blob.id, { bytes: blob.bytes ?? null, cut: false, encode: blob.encode ?? null, items: blob.items ?? null, size: blob.size });
      if (mayBeOnDisk) this.maybeOnDisk.add(blob.id);
    }
  }

  /** The bytes of a pending blob, encoded now if they were not yet (kept: a blob is encoded once). */
  private bytesOf(entry: Pending): Uint8Array {
    return (entry.bytes ??= entry.encode!());
  }

  /** Bytes a pending blob holds or will (0 when it is not pending). */
  sizeOf(id: string): number {
    return this.pending.get(id)?.size ?? 0;
  }

  /** Bytes of the blobs held in memory until the next checkpoint. */
  heldBytes(): number {
    return this.held;
  }

  /** Blobs made obsolete. One never written is forgotten; a file waits for the checkpoint. */
  removeLazily(ids: readonly string[]): void {
    for (const id of ids) {
      // A pending blob whose file a failed flush may have written is a file to delete too
      // (simulator seed 5064 --journal: the folder sync failed, and the file stayed as an orphan).
      this.held -= this.pending.get(id)?.size ?? 0;
      const wasPending = this.pending.delete(id);
      if (!wasPending || this.maybeOnDisk.delete(id)) this.doomed.add(id);
    }
  }

  /**
   * The bytes of a blob committed since the last checkpoint (replay: the base of a patch logged
   * in the same journal, spec JNL-1). Byte patches only ever had such bases: a file on disk that
   * a transient read error damaged made the journal unreplayable (simulator seed 5063 --journal);
   * leaf item patches may have a base on disk, which replay reads with retries (journal/replay.ts).
   */
  base(id: string): Uint8Array | undefined {
    const entry = this.pending.get(id);
    return entry && this.bytesOf(entry);
  }

  /**
   * The committed leaf items of a blob of this journal cycle, so a later version of the leaf,
   * copied from these very items, can be logged as item changes of it (replay rebuilds this blob
   * first, from the same journal: JNL-1). undefined for other blobs.
   */
  leafItems(id: string): readonly unknown[] | undefined {
    const entry = this.pending.get(id);
    return entry && !entry.cut ? (entry.items ?? undefined) : undefined;
  }

  /**
   * A checkpoint's cut (spec JNL-3): the blobs held now are the ones it writes, even those a later
   * commit makes obsolete before it does (each may be on disk from here: made obsolete, it is a
   * file to delete). None is the base of a leaf logged as item changes after the cut (leafItems):
   * once the mark skips the records before the cut, replay could only read it from its file
   * (JNL-1).
   */
  cut(): BlobsCut {
    const entries = [...this.pending];
    for (const [id, entry] of entries) {
      this.maybeOnDisk.add(id);
      entry.cut = true;
    }
    return { entries };
  }

  /**
   * Checkpoint, first step (spec JNL-3): writes the blobs of the cut (by default, all held now)
   * durably through the inner store. Obsolete files go later (purgeDoomed), once the checkpoint
   * mark lists them.
   */
  async flush(cut: BlobsCut = this.cut(), io?: BlobIo): Promise<void> {
    const written = cut.entries;
    await this.inner.putAll(
      written.map(([id, entry]) => ({ id, bytes: this.bytesOf(entry) })),
      io,
    );
    for (const [id, entry] of written) {
      if (this.pending.get(id) !== entry) continue;
      this.held -= entry.size;
      this.pending.delete(id);
      this.maybeOnDisk.delete(id);
    }
  }

  /** The files made obsolete since the last checkpoint (they wait for purgeDoomed). */
  doomedIds(): string[] {
    return [...this.doomed];
  }

  /** Checkpoint, last step: deletes obsolete files durably (the checkpoint mark listed them first). */
  async purgeDoomed(ids: readonly string[], io?: BlobIo): Promise<void> {
    await this.inner.removeAll(ids, true, io);
    for (const id of ids) this.doomed.delete(id);
  }

  get(id: string): Promise<Uint8Array | null> {
    const pending = this.pending.get(id);
    return pending ? Promise.resolve(this.bytesOf(pending)) : this.inner.get(id);
  }

  removeAll(ids: readonly string[], durable?: boolean): Promise<void> {
    return this.inner.removeAll(ids, durable);
  }

  /** Every blob's id as the checkpoint will leave it: stored ones not doomed, and the pending ones. */
  async list(): Promise<string[]> {
    const stored = (await this.inner.list()).filter((id) => !this.doomed.has(id) && !this.pending.has(id));
    return [...stored, ...this.pending.keys()];
  }

  removeStore(): Promise<void> {
    return this.inner.removeStore();
  }

  /** What is stored (pending blobs are in the journal, checked by its CRCs at replay). */
  scrub(progress?: ScrubProgress): Promise<ScrubReport> {
    return this.inner.scrub(progress);
  }

  get redundancy(): Redundancy | null {
    return this.inner.redundancy;
  }
}

/** Every store's blobs wrapped for journal mode. */
export function lazyBlobs(factory: BlobsFactory): BlobsFactory {
  return { external: factory.external, open: (storeName, storeDir) => new LazyBlobs(factory.open(storeName, storeDir)) };
}

/** A store's blobs in journal mode: an assertion, since the database wraps every store's blobs when it journals. */
export function journaled(blobs: Blobs): LazyBlobs {
  assert(blobs instanceof LazyBlobs, 'journal mode: a store whose blobs are not journaled');
  return blobs;
}
