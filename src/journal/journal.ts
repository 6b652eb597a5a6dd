import type { BlobIo } from '../blobs/blobs.js';
import { type BlobsCut, journaled } from '../blobs/lazy-blobs.js';
import type { FileHandle } from '../ports/file-system.js';
import type { Env } from '../ports/env.js';
import type { Store } from '../store/store.js';
import type { StoreRepository } from '../store/store-repository.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { writeCheckpointMark } from './mark.js';
import { type JournalRecord, encodeRecord, journalPaths } from './record.js';

/** When a checkpoint runs: after this many journaled commits or bytes of records, each onIdle sweep, and at close. */
export interface JournalOptions {
  /** Records kept before a checkpoint (default 1024). */
  maxRecords?: number;
  /** Bytes of records before a checkpoint (default 64 MiB). */
  maxBytes?: number;
  /**
   * Bytes of committed blobs held in memory before a checkpoint (default 256 MiB): patches keep
   * records small, so this bounds memory. Larger values checkpoint less often, and a checkpoint
   * writes each changed blob once however often it changed.
   */
  maxHeldBytes?: number;
  /**
   * Append and sync each record with blocking system calls on the main thread, as SQLite does:
   * about half the commit latency on the bench machine, but the event loop waits for the disk
   * (one fdatasync per commit). Default false. Ignored when the FileSystem port cannot do it.
   */
  blockingSync?: boolean;
}

/**
 * The checkpoint writes and deletes two blobs at a time: it runs beside the commits (JNL-3), whose
 * fdatasync would otherwise wait behind its calls in Node's 4-thread file system pool. Measured
 * on 2000 single-item commits of a 100k-item store with one checkpoint among them (3 runs each,
 * against the checkpoint inline in a commit): about the same commits/s (1,300 and 1,315), the
 * longest commit 70-75 ms instead of 180-350 ms; with 64 at a time the commits around the
 * checkpoint waited (985 commits/s, p99 7.6 ms).
 */
const CHECKPOINT_IO: BlobIo = { parallelism: 2 };

/** The journal file grows in steps of at least this much, zero-filled and synced once. */
const GROW_STEP = 1024 * 1024;

interface Dirty {
  readonly store: Store;
  info: boolean;
}

/** One of the two journal files (journalPaths). */
interface JournalFile {
  readonly path: string;
  handle: FileHandle | null;
  /** Bytes of the file known to be allocated and durable (zero-filled or written). */
  allocated: number;
}

/** What a checkpoint makes durable: the records up to `seq`, and the files those records made obsolete. */
interface Cut {
  readonly seq: number;
  readonly stores: Array<Dirty & { readonly blobs: BlobsCut }>;
  readonly doomed: ReadonlyArray<{ store: Store; ids: string[] }>;
}

/**
 * Journal mode (spec JNL-1..JNL-4). A commit is durable once its record is: appended to a
 * journal file and synced with one fdatasync (the file is zero-filled ahead, so an append changes
 * no metadata). Its blobs and registry sectors are then adopted in memory only. A checkpoint cuts
 * the journal under the lock (JNL-3): the records so far are the ones it covers, and later
 * commits append to the other file, from its start, while the checkpoint writes and syncs what
 * the covered records changed, with the store infos, then writes the checkpoint mark. Commits do
 * not wait for it. The journal lock serialises the commit point and the apply of every commit,
 * and the cut, so records are appended in sequence order and each one's sector images extend the
 * previous one's in the same cycle.
 */
export class Journal {
  private readonly lock = new KeyedMutex();
  private readonly dirty = new Map<string, Dirty>();
  private readonly files: [JournalFile, JournalFile];
  /** The file appends go to. */
  private current = 0;
  /** Whether every record in the other file is covered by a durable mark (it may be started over). */
  private otherCovered = true;
  /** Where the next record goes; bytes [0, offset) of the current file hold its records. */
  private offset = 0;
  /** Records since the last cut. */
  private records = 0;
  /** Bytes of records since the last cut. */
  private bytes = 0;
  /** The highest sequence number among the records so far. */
  private lastSeq = 0;
  /** The checkpoint under way, if any: one at a time. */
  private running: Promise<void> | null = null;
  /** A commit failed after its record was durable: only replay at the next open may finish it. */
  private poisoned = false;
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly maxHeldBytes: number;
  private readonly blockingSync: boolean;

  constructor(
    private readonly env: Env,
    private readonly dir: string,
    private readonly repo: StoreRepository,
    options: Required<JournalOptions>,
  ) {
    // Defaults live in database/resolve-options.ts (DEFAULTS.journal).
    this.maxRecords = options.maxRecords;
    this.maxBytes = options.maxBytes;
    this.maxHeldBytes = options.maxHeldBytes;
    this.blockingSync = options.blockingSync;
    const [a, b] = journalPaths(dir);
    this.files = [
      { path: a, handle: null, allocated: 0 },
      { path: b, handle: null, allocated: 0 },
    ];
  }

  /** Records since the last cut. */
  get pending(): number {
    return this.records;
  }

  /** Runs `task` holding the journal lock (commit point and apply of one commit, or a cut). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.lock.run('journal', task);
  }

  /**
   * The commit point (spec JNL-1): the record is durable when this resolves. Under the lock.
   * If it rejects, the caller must `discard()` before anything else is appended.
   */
  async write(record: JournalRecord): Promise<void> {
    const bytes = encodeRecord(record);
    const file = this.files[this.current]!;
    const handle = await this.openFile(file);
    if (this.offset + bytes.length > file.allocated) await this.grow(file, handle, this.offset + bytes.length);
    if (this.blockingSync && handle.writeAndSyncBlocking) {
      handle.writeAndSyncBlocking(this.offset, bytes);
    } else {
      await handle.write(this.offset, bytes);
      await handle.datasync();
    }
    this.offset += bytes.length;
    this.records++;
    this.bytes += bytes.length;
    this.lastSeq = Math.max(this.lastSeq, record.seq);
  }

  /**
   * After a failed write: zeroes the start of the record slot durably, so a record that reached
   * the disk anyway ends the journal there (JNL-2). Rejects when that fails: outcome unknown.
   */
  async discard(): Promise<void> {
    const file = this.files[this.current]!;
    if (!file.handle || this.offset >= file.allocated) return;
    await file.handle.write(this.offset, new Uint8Array(Math.min(64, file.allocated - this.offset)));
    await file.handle.datasync();
  }

  /** Notes a store a commit changed (and whether its info changed), for the next checkpoint. */
  applied(store: Store, infoChanged: boolean): void {
    let d = this.dirty.get(store.name);
    if (!d || d.store !== store) {
      d = { store, info: false };
      this.dirty.set(store.name, d);
    }
    d.info ||= infoChanged;
  }

  /**
   * A commit's apply failed after its record was durable. Checkpoints stop: the mark would cover
   * a record whose changes are not all in memory (spec JNL-3); the next open replays it.
   */
  poison(): void {
    this.poisoned = true;
  }

  /** Whether the records kept have reached a checkpoint threshold. */
  get due(): boolean {
    return this.over(1);
  }

  /**
   * Whether the records since the last cut are `factor` times a threshold. A commit that finds
   * them twice over while a checkpoint runs waits for it (JournaledDurability.finish), so memory
   * and the journal stay bounded when commits outrun checkpoints.
   */
  over(factor: number): boolean {
    if (this.records >= this.maxRecords * factor || this.bytes >= this.maxBytes * factor) return true;
    let held = 0;
    for (const d of this.dirty.values()) held += journaled(d.store.blobs).heldBytes();
    return held >= this.maxHeldBytes * factor;
  }

  /** The checkpoint under way, if any. */
  get checkpointing(): Promise<void> | null {
    return this.running;
  }

  /**
   * Makes everything the records so far describe durable in place, then writes the mark
   * (spec JNL-3). Waits for a checkpoint under way first. A crash anywhere before the mark
   * replays the records. Stores removed meanwhile are skipped (their records are skipped by
   * replay too, JNL-4).
   */
  checkpoint(): Promise<void> {
    // A failure of the one before was reported by whoever started it; this one runs regardless.
    const run = (this.running ?? Promise.resolve()).catch(() => undefined).then(() => this.checkpointNow()); // its own failure is the caller's
    const tracked = run.finally(() => {
      if (this.running === tracked) this.running = null;
    });
    this.running = tracked;
    return tracked;
  }

  private async checkpointNow(): Promise<void> {
    const cut = await this.exclusive(async () => (this.poisoned || this.records === 0 ? null : this.cut()));
    if (!cut) return;
    await this.env.point?.('journal.afterCut');
    try {
      for (const d of cut.stores) {
        await d.store.registry.flush();
        await journaled(d.store.blobs).flush(d.blobs, CHECKPOINT_IO);
        if (d.info) await this.repo.writeInfo(d.store, d.store.info);
      }
      await this.env.point?.('journal.afterCheckpointSync');
      const doomed = Object.fromEntries(cut.doomed.map((p) => [p.store.name, p.ids]));
      await writeCheckpointMark(this.env, this.dir, { seq: cut.seq, doomed });
    } catch (error) {
      // Its records stay above the mark, and its stores go back to the next checkpoint's.
      for (const d of cut.stores) this.applied(d.store, d.info);
      throw error;
    }
    // The file the covered records are in may be started over now.
    this.otherCovered = true;
    // A deletion that fails leaves its file listed in the mark: the next open deletes it.
    for (const p of cut.doomed) await journaled(p.store.blobs).purgeDoomed(p.ids, CHECKPOINT_IO);
  }

  /**
   * Under the lock: the records so far become the checkpoint's. Later commits append to the other
   * file from its start, when every record in it is covered by a mark (else, after a checkpoint
   * that failed, they go on in this one). Patches start over either way: a record after the cut
   * logs each sector's and each leaf's first change whole, since replay skips the records the
   * mark covers, and with them the images a patch would build on (JNL-1).
   */
  private cut(): Cut {
    const stores = [...this.dirty.values()].filter((d) => this.repo.opened().includes(d.store));
    // Every open store's obsolete files, also those a failed deletion left from an earlier checkpoint.
    const doomed = this.repo.opened().map((store) => ({ store, ids: journaled(store.blobs).doomedIds() })).filter((p) => p.ids.length > 0);
    for (const d of stores) d.store.registry.startCycle();
    const cut: Cut = { seq: this.lastSeq, stores: stores.map((d) => ({ ...d, blobs: journaled(d.store.blobs).cut() })), doomed };
    this.dirty.clear();
    this.records = 0;
    this.bytes = 0;
    if (this.otherCovered) {
      this.current = 1 - this.current;
      this.offset = 0;
      this.otherCovered = false;
    }
    return cut;
  }

  async close(): Promise<void> {
    for (const file of this.files) {
      const handle = file.handle;
      file.handle = null;
      await handle?.close();
    }
  }

  private async openFile(file: JournalFile): Promise<FileHandle> {
    if (file.handle) return file.handle;
    const handle = await this.env.fs.open(file.path, 'create');
    try {
      file.allocated = await handle.size();
      await this.env.fs.syncDir(this.dir); // the file must be found after a crash before a record in it counts
    } catch (error) {
      await handle.close().catch(() => undefined); // the first error is the one to report
      throw error;
    }
    file.handle = handle;
    return handle;
  }

  /** Zero-fills the file up to at least `needed` and syncs it, so appends there need only fdatasync. */
  private async grow(file: JournalFile, handle: FileHandle, needed: number): Promise<void> {
    const size = Math.max(file.allocated * 2, Math.ceil(needed / GROW_STEP) * GROW_STEP);
    const zeros = new Uint8Array(GROW_STEP);
    for (let at = file.allocated; at < size; at += GROW_STEP) await handle.write(at, zeros.subarray(0, Math.min(GROW_STEP, size - at)));
    await handle.sync();
    file.allocated = size;
  }
}
