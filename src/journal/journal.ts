import { assert } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import type { Store } from '../store/store.js';
import type { StoreRepository } from '../store/store-repository.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { writeCheckpointMark } from './mark.js';
import { type JournalRecord, encodeRecord, journalPath } from './record.js';

/** When a checkpoint runs: after this many journaled commits or bytes of records, and at close. */
export interface JournalOptions {
  /** Records kept before a checkpoint (default 1024). */
  maxRecords?: number;
  /** Bytes of records kept before a checkpoint (default 64 MiB). */
  maxBytes?: number;
}

interface Dirty {
  readonly store: Store;
  readonly written: Set<string>;
  readonly removed: Set<string>;
  info: boolean;
}

/**
 * Journal mode (spec JNL-1..JNL-4): a commit is durable once its record is (one file write,
 * one fdatasync, one folder sync). Blobs, registry sectors and store infos are then written
 * without syncing; a checkpoint later syncs all of them at once and only then deletes the
 * records, so until then every change they describe can be replayed. The journal lock
 * serialises the commit point and the apply of every commit (and checkpoints), so nothing else
 * writes a registry between a commit's staging and its apply.
 */
export class Journal {
  private readonly lock = new KeyedMutex();
  private readonly dirty = new Map<string, Dirty>();
  private records: string[] = [];
  /** The highest sequence number among the kept records. */
  private lastSeq = 0;
  private bytes = 0;
  /** A commit failed after its record was durable: only replay at the next open may finish it. */
  private poisoned = false;
  private readonly maxRecords: number;
  private readonly maxBytes: number;

  constructor(
    private readonly env: Env,
    private readonly dir: string,
    private readonly repo: StoreRepository,
    options: JournalOptions = {},
  ) {
    this.maxRecords = options.maxRecords ?? 1024;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  }

  /** Records not yet checkpointed (their files are in translogs/). */
  get pending(): number {
    return this.records.length;
  }

  /** Runs `task` holding the journal lock (commit point and apply of one commit, or a checkpoint). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.lock.run('journal', task);
  }

  /** The commit point: the record is durable when this resolves (spec JNL-1). Call under the lock. */
  async write(record: JournalRecord): Promise<void> {
    const bytes = encodeRecord(record);
    const file = await this.env.fs.open(journalPath(this.dir, record.tid), 'createNew');
    try {
      await file.write(0, bytes);
      await file.datasync();
    } finally {
      await file.close();
    }
    await this.env.fs.syncDir(this.dir);
    this.records.push(record.tid);
    this.lastSeq = Math.max(this.lastSeq, record.seq);
    this.bytes += bytes.length;
  }

  /** Notes what a commit wrote without syncing, for the next checkpoint (spec JNL-3). */
  applied(store: Store, written: readonly string[], infoChanged: boolean): void {
    const d = this.dirtyOf(store);
    for (const id of written) d.written.add(id);
    d.info ||= infoChanged;
  }

  /**
   * A commit's apply failed after its record was durable. Checkpoints stop: they would delete
   * a record whose changes are not all on disk (spec JNL-3); the next open replays it.
   */
  poison(): void {
    this.poisoned = true;
  }

  /** Notes blobs deleted without syncing their folders. */
  removed(store: Store, ids: readonly string[]): void {
    const d = this.dirtyOf(store);
    for (const id of ids) d.removed.add(id);
  }

  /** Whether the records kept have reached a checkpoint threshold. */
  get due(): boolean {
    return this.records.length >= this.maxRecords || this.bytes >= this.maxBytes;
  }

  /**
   * Makes everything the kept records describe durable, then deletes them (spec JNL-3): sectors,
   * blobs and their folders, store infos; a crash anywhere before the deletions replays them.
   * Stores removed meanwhile are skipped (their records are skipped by replay too, JNL-4).
   */
  checkpoint(): Promise<void> {
    return this.exclusive(async () => {
      if (this.poisoned || (this.records.length === 0 && this.dirty.size === 0)) return;
      const open = new Set(this.repo.opened());
      for (const d of this.dirty.values()) {
        if (!open.has(d.store)) continue;
        await d.store.registry.sync();
        assert(d.store.blobs.makeDurable !== undefined, `store ${d.store.name}: journal mode needs local blobs`);
        await d.store.blobs.removeAll([...d.removed]); // finishes deletions a commit could not make
        await d.store.blobs.makeDurable([...d.written], [...d.removed]);
        if (d.info) await this.repo.writeInfo(d.store, d.store.info);
      }
      await this.env.point?.('journal.afterCheckpointSync');
      if (this.records.length > 0) await writeCheckpointMark(this.env, this.dir, this.lastSeq);
      for (const tid of this.records) await unlinkQuietly(this.env, journalPath(this.dir, tid));
      await this.env.fs.syncDir(this.dir);
      this.records = [];
      this.bytes = 0;
      this.dirty.clear();
    });
  }

  private dirtyOf(store: Store): Dirty {
    let d = this.dirty.get(store.name);
    if (!d || d.store !== store) {
      d = { store, written: new Set(), removed: new Set(), info: false };
      this.dirty.set(store.name, d);
    }
    return d;
  }
}

async function unlinkQuietly(env: Env, path: string): Promise<void> {
  try {
    await env.fs.unlink(path);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
  }
}
