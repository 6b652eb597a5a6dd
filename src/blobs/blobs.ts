/**
 * What the engine needs from the blobs of one store, whatever keeps them: one file per blob in
 * the store folder (BlobStore) or shards spread over drives (src/ec/erasure-blob-store.ts).
 * Blobs are immutable: a physical id is written once, durably, and later deleted (spec COW-1).
 */
/**
 * How a batch of blob writes or deletions may run. A writer in the background (the journal's
 * checkpoint, JNL-3) asks for few at a time: Node runs file system calls on a pool of 4 threads,
 * and 64 of its calls in flight queued a commit's one fdatasync behind them (p99 up, commits/s
 * down while it ran).
 */
export interface BlobIo {
  /** Blobs written or deleted at once (default: as many as the store finds useful). */
  readonly parallelism?: number;
}

export interface Blobs {
  /**
   * A folder inside the store folder that the store repository syncs once create() ran. For
   * BlobStore the blob files live under it; for erasure coding it is the store folder itself.
   */
  readonly dir: string;
  /**
   * True when the blobs live outside the store folder (erasure-coded drives): removing the
   * store folder does not remove them, removeStore() does.
   */
  readonly external: boolean;
  /** Creates the folders of a new store; may run again (idempotent). */
  create(): Promise<void>;
  /** Writes every blob durably; rejects if one could not be stored (the commit rolls back). */
  putAll(blobs: ReadonlyArray<{ id: string; bytes: Uint8Array }>, io?: BlobIo): Promise<void>;
  /** The blob's bytes; null when it does not exist. */
  get(id: string): Promise<Uint8Array | null>;
  /** Deletes blobs, missing ones included; `durable` also syncs the folders. */
  removeAll(ids: readonly string[], durable?: boolean, io?: BlobIo): Promise<void>;
  /** The id of every blob present (the structure check's orphan scan, spec STRUCT-2, STRUCT-3). */
  list(): Promise<string[]>;
  /** Deletes what the store keeps outside its folder, after the folder was renamed away (STORE-2). */
  removeStore(): Promise<void>;
  /** Reads every blob and checks its checksums (`sop verify`); reports, never throws on bad bytes. */
  scrub(progress?: ScrubProgress): Promise<ScrubReport>;
  /** What only blobs kept with redundancy (erasure coded) have; null for blobs kept once, which have nothing to rebuild from. */
  readonly redundancy: Redundancy | null;
}

/** The repairs of blobs kept with redundancy (src/ec/erasure-blob-store.ts, spec EC-3). */
export interface Redundancy {
  /** Rebuilds every missing or bad shard of every blob (`sop repair`). */
  repair(progress?: ScrubProgress): Promise<RepairReport>;
  /** Rebuilds the blobs degraded reads and writes met (lazy repair, run by the onIdle sweep). */
  repairPending(): Promise<RepairReport>;
}

export interface RepairReport {
  /** Blobs examined. */
  readonly blobs: number;
  /** Shards rebuilt from the others and written durably. */
  readonly shardsRewritten: number;
  /** Blobs with fewer than D valid shards: reported, never guessed. */
  readonly unrecoverable: number;
  /** Rebuilt shards that could not be written (their drive is still down). */
  readonly unwritable: number;
  /** The first few unrecoverable blob ids. */
  readonly unrecoverableSample: readonly string[];
}

/** Makes the Blobs of a store. `storeDir` is the store's folder (a hidden one while it is created, STORE-1). */
export interface BlobsFactory {
  open(storeName: string, storeDir: string): Blobs;
  /** Same as the Blobs' `external`: known without opening a store (cleanup of hidden leftovers). */
  readonly external: boolean;
}

export type ScrubProgress = (done: number, total: number) => void;

/** One problem a scrub found: the blob, the file (or shard file) and what is wrong with it. */
export interface BlobIssue {
  readonly id: string;
  readonly file: string;
  readonly problem: string;
}

export interface ScrubReport {
  /** Blobs examined. */
  readonly blobs: number;
  readonly issues: BlobIssue[];
  /** Blobs that cannot be read back at all (a local blob with a bad CRC, fewer than D valid shards). */
  readonly unreadable: number;
}
