import { journaled } from '../blobs/lazy-blobs.js';
import type { FileHandle } from '../ports/file-system.js';
import type { Env } from '../ports/env.js';
import type { Store } from '../store/store.js';
import type { StoreRepository } from '../store/store-repository.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { writeCheckpointMark } from './mark.js';
import { type JournalRecord, encodeRecord, journalPath } from './record.js';

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

/** The journal file grows in steps of at least this much, zero-filled and synced once. */
const GROW_STEP = 1024 * 1024;

interface Dirty {
  readonly store: Store;
  info: boolean;
}

/**
 * Journal mode (spec JNL-1..JNL-4). A commit is durable once its record is: appended to the
 * journal file `translogs/journal.wal` and synced with one fdatasync (the file is zero-filled
 * ahead, so an append changes no metadata). Its blobs and registry sectors are then adopted in
 * memory only; the checkpoint writes and syncs them, with the store infos, writes the checkpoint
 * mark, and starts the file over. The journal lock serialises the commit point and the apply of
 * every commit, and checkpoints, so records are appended in sequence order and each one's
 * sector images extend the previous one's.
 */
export class Journal {
  private readonly lock = new KeyedMutex();
  private readonly dirty = new Map<string, Dirty>();
  private file: FileHandle | null = null;
  /** Where the next record goes; bytes [0, offset) hold the records since the last checkpoint. */
  private offset = 0;
  /** Bytes of the file known to be allocated and durable (zero-filled or written). */
  private allocated = 0;
  private records = 0;
  /** The highest sequence number among the records since the last checkpoint. */
  private lastSeq = 0;
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
  }

  /** Records since the last checkpoint. */
  get pending(): number {
    return this.records;
  }

  /** Runs `task` holding the journal lock (commit point and apply of one commit, or a checkpoint). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.lock.run('journal', task);
  }

  /**
   * The commit point (spec JNL-1): the record is durable when this resolves. Under the lock.
   * If it rejects, the caller must `discard()` before anything else is appended.
   */
  async write(record: JournalRecord): Promise<void> {
    const bytes = encodeRecord(record);
    const file = await this.openFile();
    if (this.offset + bytes.length > this.allocated) await this.grow(file, this.offset + bytes.length);
    if (this.blockingSync && file.writeAndSyncBlocking) {
      file.writeAndSyncBlocking(this.offset, bytes);
    } else {
      await file.write(this.offset, bytes);
      await file.datasync();
    }
    this.offset += bytes.length;
    this.records++;
    this.lastSeq = Math.max(this.lastSeq, record.seq);
  }

  /**
   * After a failed write: zeroes the start of the record slot durably, so a record that reached
   * the disk anyway ends the journal there (JNL-2). Rejects when that fails: outcome unknown.
   */
  async discard(): Promise<void> {
    if (!this.file || this.offset >= this.allocated) return;
    await this.file.write(this.offset, new Uint8Array(Math.min(64, this.allocated - this.offset)));
    await this.file.datasync();
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
    if (this.records >= this.maxRecords || this.offset >= this.maxBytes) return true;
    let held = 0;
    for (const d of this.dirty.values()) held += journaled(d.store.blobs).heldBytes();
    return held >= this.maxHeldBytes;
  }

  /**
   * Makes everything the records since the last one describe durable in place, then writes the
   * mark and starts the journal over (spec JNL-3): sectors, blobs and their folder entries,
   * store infos. A crash anywhere before the mark replays the records. Stores removed meanwhile
   * are skipped (their records are skipped by replay too, JNL-4).
   */
  checkpoint(): Promise<void> {
    return this.exclusive(async () => {
      if (this.poisoned || this.records === 0) return;
      const stores = [...this.dirty.values()].filter((d) => this.repo.opened().includes(d.store));
      for (const d of stores) {
        await d.store.registry.flush();
        await journaled(d.store.blobs).flush();
        if (d.info) await this.repo.writeInfo(d.store, d.store.info);
        d.info = false;
      }
      await this.env.point?.('journal.afterCheckpointSync');
      // Every open store's obsolete files, also those a failed deletion left from an earlier checkpoint.
      const purging = this.repo.opened().map((store) => ({ store, ids: journaled(store.blobs).doomedIds() })).filter((p) => p.ids.length > 0);
      const doomed = Object.fromEntries(purging.map((p) => [p.store.name, p.ids]));
      await writeCheckpointMark(this.env, this.dir, { seq: this.lastSeq, doomed });
      // From here the records are covered: the file starts over.
      this.offset = 0;
      this.records = 0;
      this.dirty.clear();
      // A deletion that fails leaves its file listed in the mark: the next open deletes it.
      for (const p of purging) await journaled(p.store.blobs).purgeDoomed(p.ids);
    });
  }

  async close(): Promise<void> {
    const file = this.file;
    this.file = null;
    await file?.close();
  }

  private async openFile(): Promise<FileHandle> {
    if (this.file) return this.file;
    const file = await this.env.fs.open(journalPath(this.dir), 'create');
    try {
      this.allocated = await file.size();
      await this.env.fs.syncDir(this.dir); // the file must be found after a crash before a record in it counts
    } catch (error) {
      await file.close().catch(() => undefined); // the first error is the one to report
      throw error;
    }
    this.file = file;
    return file;
  }

  /** Zero-fills the file up to at least `needed` and syncs it, so appends there need only fdatasync. */
  private async grow(file: FileHandle, needed: number): Promise<void> {
    const size = Math.max(this.allocated * 2, Math.ceil(needed / GROW_STEP) * GROW_STEP);
    const zeros = new Uint8Array(GROW_STEP);
    for (let at = this.allocated; at < size; at += GROW_STEP) await file.write(at, zeros.subarray(0, Math.min(GROW_STEP, size - at)));
    await file.sync();
    this.allocated = size;
  }
}
