import { BlobStore, parallel } from '../blobs/blob-store.js';
import type { BlobIo, Blobs, Redundancy, ScrubProgress, ScrubReport } from '../blobs/blobs.js';
import { SopError } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import { writeSynced } from '../util/durable-file.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { ensureDurableDir, joinPath, parentDir } from '../util/paths.js';
import type { ErasureCoding } from './config.js';
import { type DriveHealth, type RepairReport, driveHealth, repairBlobs } from './repair.js';
import type { RsCodec } from './rs-codec.js';
import { scrubErasure } from './scrub.js';

/** What reading one shard file gave: its bytes, or why not. */
export interface ShardRead {
  readonly file: Uint8Array | null;
  /** 'missing': ENOENT (no such shard, or no such folder); 'io': any other failure (a drive going bad). */
  readonly failure: 'missing' | 'io' | null;
  readonly detail: string;
}

/** Ids kept for lazy repair; past this a full repair() finds the rest (bounded memory with a dead drive). */
const MAX_PENDING = 100_000;

/**
 * The blobs of one store, erasure coded: each blob is cut into D data shards plus P parity
 * shards, shard i stored on drive i as `<drive>/<store>/blobs/<xx>/<id>.<i>` (256 fan-out
 * folders, like BlobStore). A drive whose folder is missing or failing is simply "down" for the
 * call that meets it:
 * - a write succeeds when at least D shards are durable (spec EC-2); otherwise everything it
 *   wrote is deleted and it rejects, so the commit rolls back;
 * - a read decodes from any D valid shards (spec EC-1): data shards first (no decoding when
 *   they are intact), parity only when one is missing or fails its CRC. A degraded read
 *   returns the bytes and remembers the id for repairPending(); nothing runs in the background;
 * - repair() rebuilds every missing or bad shard of every blob (spec EC-3);
 * - a delete that could not reach every drive leaves a tombstone `<id>.deleted` next to the
 *   shards it did delete: list() no longer reports the blob, and repair() or the lazy repair
 *   deletes the leftover shards once their drive is back, then the tombstones.
 */
export class ErasureBlobStore implements Blobs {
  readonly external = true;
  /** This store's repairs (repair, repairPending below). */
  readonly redundancy: Redundancy = this;
  /** The store folder: nothing of the blobs lives there, but the repository syncs it after create(). */
  readonly dir: string;
  /** Per-blob exclusion of writes, deletes and repairs: a repair must never resurrect a deleted blob. */
  private readonly locks = new KeyedMutex();
  private readonly pending = new Set<string>();
  /** Ids this process tombstoned, for the lazy repair to purge (a full repair finds every tombstone). */
  private readonly tombstoned = new Set<string>();
  /**
   * Ids whose write failed or whose delete did not finish, with shards possibly left behind (a
   * drive failing): garbage that a repair must never rebuild; it deletes them instead.
   */
  private readonly doomed = new Set<string>();
  /**
   * Shard files (`<drive>:<id>`) this process created whose durability was not established: the
   * write, the close, the folder sync or the folder chain's sync failed (a drive going offline
   * mid-write). Such a file reads back valid from the page cache, yet a power loss may take it;
   * a repair makes it durable before counting on it (sim seed 111).
   */
  private readonly unsettled = new Set<string>();
  /**
   * Drives whose folders (the store's folder, its blobs folder, the fan-out folders) this
   * instance has not yet seen made durable. A folder creation that failed half way (ENOSPC on the
   * 97th fan-out mkdir, an EIO syncDir) leaves folders that exist but whose entries a power loss
   * reverts, and with them every shard written into them since: a shard there counts as stored
   * only once its folder chain was synced (secureDrive). Every drive starts in doubt: another
   * incarnation may have left such folders before it fail-stopped (its page cache survives).
   * Per drive, how many doubts were raised and how many were settled: in doubt while they differ
   * (a doubt raised while a sync runs is not settled by it).
   */
  private readonly doubts: number[];
  private readonly settled: number[];

  constructor(
    private readonly env: Env,
    readonly config: ErasureCoding,
    readonly storeName: string,
    storeDir: string,
    readonly codec: RsCodec,
  ) {
    if (config.drives.length !== codec.total) throw new SopError('INVALID_ARGUMENT', `erasure coding ${codec.dataShards}+${codec.parityShards} needs ${codec.total} drives`);
    this.dir = storeDir;
    this.doubts = range(0, codec.total).map(() => 1);
    this.settled = range(0, codec.total).map(() => 0);
  }

  /** This store's blob folder on drive `drive`. */
  folderOn(drive: number): string {
    return joinPath(this.config.drives[drive]!, this.storeName, 'blobs');
  }

  shardPath(drive: number, id: string): string {
    return joinPath(this.folderOn(drive), id.slice(0, 2), `${id}.${drive}`);
  }

  /** The marker of a blob deleted while one of its shards could not be: the shard is garbage. */
  tombstonePath(drive: number, id: string): string {
    return joinPath(this.folderOn(drive), id.slice(0, 2), `${id}.deleted`);
  }

  /** Blob ids a degraded read or write met, waiting for repairPending(). */
  get pendingRepairs(): number {
    return this.pending.size;
  }

  /**
   * The fan-out folders on every drive (a missing drive folder is created); at most P drives may
   * fail. The store folder's entry (a hidden one while the store is created) is made durable
   * first: after a crash it is what tells the repository to remove what went to the drives
   * (STORE-1, STORE-3); without it their folders and root blob would be left behind.
   */
  async create(): Promise<void> {
    await this.env.fs.syncDir(parentDir(this.dir));
    const failures = (await this.prepareDrives()).filter((e) => e !== null);
    if (failures.length > this.codec.parityShards) {
      throw new SopError('IO', `store ${this.storeName}: ${failures.length} of ${this.codec.total} drives failed: ${failures[0]!.message}`, { cause: failures[0] });
    }
  }

  /** Creates the folders on each drive; the error of each drive that failed, null for the others. */
  async prepareDrives(): Promise<(Error | null)[]> {
    return Promise.all(
      this.config.drives.map(async (_drive, d) => {
        try {
          await ensureDurableDir(this.env.fs, this.folderOn(d));
          for (const sub of BlobStore.fanOut()) await this.env.fs.mkdir(joinPath(this.folderOn(d), sub));
          await this.secureDrive(d, true);
          return null;
        } catch (error) {
          this.doubts[d]!++; // folders made before the failure may not be durable (sim seed 500209)
          return error instanceof Error ? error : new Error(String(error));
        }
      }),
    );
  }

  /** Encodes and writes every blob's shards in parallel, each synced, then their folders (spec COW-1, EC-2). */
  async putAll(blobs: ReadonlyArray<{ id: string; bytes: Uint8Array }>, io?: BlobIo): Promise<void> {
    if (blobs.length === 0) return;
    const ids = blobs.map((b) => b.id);
    await this.locks.runAll(ids, async () => {
      for (const id of ids) this.doomed.delete(id);
      const stored = new Map(ids.map((id) => [id, new Set<number>()]));
      const failures: string[] = [];
      const folders = new Map<string, { drive: number; ids: string[] }>();
      try {
        await parallel(blobs, Math.min(4, io?.parallelism ?? 4), async ({ id, bytes }) => {
          const files = await this.codec.encode(id, bytes);
          await Promise.all(
            files.map(async (file, drive) => {
              try {
                await writeSynced(this.env.fs, this.shardPath(drive, id), file);
              } catch (error) {
                this.unsettle(drive, id); // the file may exist, its bytes in the page cache only
                failures.push(`shard ${drive} on ${this.config.drives[drive]}: ${message(error)}`);
                return;
              }
              stored.get(id)!.add(drive);
              const folder = joinPath(this.folderOn(drive), id.slice(0, 2));
              const entry = folders.get(folder) ?? { drive, ids: [] };
              entry.ids.push(id);
              folders.set(folder, entry);
            }),
          );
        });
        // A shard counts once its folder entry is durable too.
        await parallel([...folders], 8, async ([folder, { drive, ids: inFolder }]) => {
          try {
            await this.env.fs.syncDir(folder);
          } catch (error) {
            failures.push(`folder ${folder}: ${message(error)}`);
            for (const id of inFolder) {
              stored.get(id)!.delete(drive);
              this.unsettle(drive, id);
            }
          }
        });
        // ...and once the folders leading to it are (see doubts).
        const drives = new Set([...folders.values()].map((f) => f.drive));
        await Promise.all(
          [...drives].map(async (drive) => {
            try {
              await this.secureDrive(drive);
            } catch (error) {
              failures.push(`drive ${this.config.drives[drive]}: ${message(error)}`);
              for (const id of ids) {
                if (stored.get(id)!.delete(drive)) this.unsettle(drive, id);
              }
            }
          }),
        );
      } catch (error) {
        await this.discard(ids);
        throw error instanceof SopError ? error : new SopError('IO', `store ${this.storeName}: erasure-coded write failed: ${message(error)}`, { cause: error });
      }
      const short = ids.find((id) => stored.get(id)!.size < this.codec.dataShards);
      if (short !== undefined) {
        await this.discard(ids); // nothing of a write that did not commit stays behind (EC-2)
        throw new SopError(
          'IO',
          `store ${this.storeName}: blob ${short} stored ${stored.get(short)!.size} of ${this.codec.total} shards, ${this.codec.dataShards} needed (EC-2): ${failures.slice(0, 3).join('; ')}`,
        );
      }
      for (const id of ids) if (stored.get(id)!.size < this.codec.total) this.needsRepair(id);
    });
  }

  /** The blob's bytes from any D valid shards; null only when no drive holds any shard of it. */
  async get(id: string): Promise<Uint8Array | null> {
    const { dataShards, total } = this.codec;
    const reads: (ShardRead | undefined)[] = Array.from({ length: total }, () => undefined); // not sparse: map() skips holes
    await this.readInto(id, range(0, dataShards), reads);
    let states = this.codec.check(id, reads.map((r) => r?.file ?? null));
    if (states.slice(0, dataShards).every((s) => s.shard)) return this.codec.decodeShards(states.map((s) => s.shard));
    await this.readInto(id, range(dataShards, total), reads);
    states = this.codec.check(id, reads.map((r) => r?.file ?? null));
    const valid = states.filter((s) => s.shard).length;
    if (valid >= dataShards) {
      this.needsRepair(id);
      return this.codec.decodeShards(states.map((s) => s.shard));
    }
    const all = reads as ShardRead[];
    const present = await Promise.all(all.map((_, d) => this.folderPresent(d)));
    const missingHere = all.filter((r, d) => r.failure === 'missing' && present[d]).length;
    // Deleted: no shard anywhere, and enough drives answered for it to be unreadable anyway.
    if (all.every((r) => r.failure === 'missing') && missingHere > this.codec.parityShards) return null;
    const down = all.some((r, d) => r.failure === 'io' || (r.failure === 'missing' && !present[d]));
    const why = states.map((s, d) => `${d}: ${all[d]!.failure === 'io' ? all[d]!.detail : (s.problem ?? 'ok')}${present[d] ? '' : ' (drive folder missing)'}`);
    throw new SopError(
      down ? 'IO' : 'CORRUPT',
      `store ${this.storeName}: blob ${id} has ${valid} valid shards of ${total}, ${dataShards} needed (EC-1); shards ${why.join(', ')}`,
    );
  }

  /**
   * Deletes every shard of each blob; missing ones are fine. A blob counts as deleted once at
   * least P+1 of its shards are gone (fewer than D can remain, so it can never be read again)
   * and, if some shard could not be deleted (its drive failing), a tombstone is durable on at
   * least P+1 drives (so it outlives P drive losses): the leftover shard is then garbage, which repair() deletes later
   * (spec EC-2: nothing of a deleted or failed write stays). Otherwise this rejects and the
   * caller's cleanup runs again later.
   */
  async removeAll(ids: readonly string[], durable = false): Promise<void> {
    if (ids.length === 0) return;
    await this.locks.runAll(ids, async () => {
      for (const id of ids) this.doomed.add(id); // dead from now on: a repair must not rebuild it
      const gone = await this.unlinkAll(ids, durable);
      for (const id of ids) {
        this.pending.delete(id);
        if (gone.get(id)!.size === this.codec.total) this.doomed.delete(id);
      }
      const short = ids.find((id) => gone.get(id)!.size <= this.codec.parityShards);
      if (short !== undefined) {
        throw new SopError('IO', `store ${this.storeName}: deleted ${gone.get(short)!.size} of ${this.codec.total} shards of blob ${short}, ${this.codec.parityShards + 1} needed`);
      }
      const partial = ids.filter((id) => gone.get(id)!.size < this.codec.total);
      await parallel(partial, 4, async (id) => {
        const marked = await this.markDeleted(id, gone.get(id)!);
        if (marked === 0) throw new SopError('IO', `store ${this.storeName}: blob ${id}: a shard could not be deleted and no drive took its tombstone`);
        this.tombstoned.add(id);
        // A tombstone must outlive as many drive losses as the shards do: one on a single drive
        // that was wiped later left the shard of the drive that was away with no tombstone
        // anywhere, an orphan (found by the standalone seed 915205259). Fewer: the deletion is
        // not done, and the caller's log has it retried (LOG-4).
        if (marked <= this.codec.parityShards) {
          throw new SopError('IO', `store ${this.storeName}: blob ${id}: a shard could not be deleted and its tombstone took on ${marked} drive(s), ${this.codec.parityShards + 1} needed`);
        }
        this.doomed.delete(id);
      });
    });
  }

  /** Every blob id with a shard on some drive and no tombstone; IO when more than P drives cannot be listed. */
  async list(): Promise<string[]> {
    const { shards, tombstones } = await this.scan();
    return [...shards].filter((id) => !tombstones.has(id)).sort();
  }

  /** Ids with a shard, and ids with a tombstone, over every drive that can be listed (at most P may fail). */
  private async scan(): Promise<{ shards: Set<string>; tombstones: Set<string> }> {
    const shards = new Set<string>();
    const tombstones = new Set<string>();
    const failures: Error[] = [];
    await Promise.all(
      this.config.drives.map(async (_drive, d) => {
        try {
          await this.listDrive(d, (id, kind) => (kind === 'shard' ? shards : tombstones).add(id));
        } catch (error) {
          failures.push(error instanceof Error ? error : new Error(String(error)));
        }
      }),
    );
    if (failures.length > this.codec.parityShards) {
      throw new SopError('IO', `store ${this.storeName}: ${failures.length} of ${this.codec.total} drives cannot be listed: ${failures[0]!.message}`, { cause: failures[0] });
    }
    return { shards, tombstones };
  }

  /**
   * The ids of the shards on one drive (`each` also sees tombstones); rejects (ENOENT included)
   * when its store folder cannot be read.
   */
  async listDrive(drive: number, each?: (id: string, kind: 'shard' | 'tombstone') => void): Promise<string[]> {
    const ids: string[] = [];
    await this.env.fs.readdir(this.folderOn(drive));
    for (const sub of BlobStore.fanOut()) {
      let names: string[];
      try {
        names = await this.env.fs.readdir(joinPath(this.folderOn(drive), sub));
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') continue;
        throw error;
      }
      for (const name of names) {
        const match = /^(.+)\.(\d+)$/.exec(name);
        if (match) {
          ids.push(match[1]!);
          each?.(match[1]!, 'shard');
        } else if (name.endsWith('.deleted')) {
          each?.(name.slice(0, -'.deleted'.length), 'tombstone');
        }
      }
    }
    return ids;
  }

  /** Deletes the store's folder on every drive (after the repository renamed the store away, STORE-2). */
  async removeStore(): Promise<void> {
    const failures: string[] = [];
    await Promise.all(
      this.config.drives.map(async (drive) => {
        try {
          await this.env.fs.removeTree(joinPath(drive, this.storeName));
          await this.env.fs.syncDir(drive);
        } catch (error) {
          if ((error as { code?: string }).code !== 'ENOENT') failures.push(`${drive}: ${message(error)}`);
        }
      }),
    );
    if (failures.length > 0) throw new SopError('IO', `store ${this.storeName}: could not remove its shards on ${failures.join('; ')}`);
  }

  /** Reads every shard of every blob: CRCs, headers, parity consistency, the decoded blob's own frame. */
  scrub(progress?: ScrubProgress): Promise<ScrubReport> {
    return scrubErasure(this, progress);
  }

  /**
   * Rebuilds the missing and bad shards of every blob; folders are recreated on replaced drives
   * (spec EC-3). Leftover shards of tombstoned (deleted) blobs are deleted first. Safe while
   * writes and deletes run: each blob is repaired under its lock, and one whose write failed or
   * that was deleted since the scan is not rebuilt (see repairBlobs).
   */
  async repair(progress?: ScrubProgress): Promise<RepairReport> {
    await this.prepareDrives();
    const { shards, tombstones } = await this.scan();
    await this.purge([...new Set([...tombstones, ...this.tombstoned])].sort());
    return repairBlobs(this, [...shards].filter((id) => !tombstones.has(id)).sort(), progress);
  }

  /**
   * Repairs only the blobs that degraded reads and writes met since the last call (lazy repair),
   * and purges this process's tombstones. When a drive was replaced (it answers but lacks this
   * store's folder) nothing may have met its blobs yet: a full repair() runs instead, so a
   * replaced drive gets its shards back in the background (README "Lifecycle").
   */
  async repairPending(progress?: ScrubProgress): Promise<RepairReport> {
    if (await this.replacedDrive()) return this.repair(progress);
    await this.purge([...this.tombstoned].sort());
    await parallel([...this.doomed].sort(), 4, (id) => this.locks.run(id, async () => (this.doomed.has(id) ? this.discardLocked(id) : undefined)));
    return repairBlobs(this, [...this.pending].sort(), progress);
  }

  /** Whether some drive answers (its folder is there) but lacks this store's blobs folder: a replaced drive. */
  private async replacedDrive(): Promise<boolean> {
    for (const [index, drive] of this.config.drives.entries()) {
      // A drive that cannot be looked at is failing, not replaced: the next repair looks again.
      const root = await this.env.fs.stat(drive).catch(() => null);
      if (root?.isDirectory && !(await this.env.fs.stat(this.folderOn(index)).catch(() => 'unknown'))) return true; // unknown: not taken for replaced
    }
    return false;
  }

  /**
   * Deletes the leftover shards of tombstoned blobs, then, once none is left, their tombstones;
   * a blob whose leftover cannot be deleted yet (its drive still failing) keeps its tombstones.
   */
  private async purge(ids: readonly string[]): Promise<void> {
    await parallel(ids, 4, (id) =>
      this.locks.run(id, async () => {
        const gone = await this.unlinkAll([id], true);
        if (gone.get(id)!.size < this.codec.total) return;
        this.doomed.delete(id);
        const cleared = await this.unlinkFiles(this.config.drives.map((_, drive) => ({ drive, path: this.tombstonePath(drive, id) })));
        if (cleared === this.codec.total) this.tombstoned.delete(id);
      }),
    );
  }

  /** Writes the blob's tombstone durably on each drive in `drives`; how many took it. */
  private async markDeleted(id: string, drives: ReadonlySet<number>): Promise<number> {
    let marked = 0;
    await Promise.all(
      [...drives].map(async (drive) => {
        try {
          await writeSynced(this.env.fs, this.tombstonePath(drive, id), new Uint8Array(0));
          await this.env.fs.syncDir(joinPath(this.folderOn(drive), id.slice(0, 2)));
          await this.secureDrive(drive);
          marked++;
        } catch {
          // that drive is failing too (or was replaced): another one takes the tombstone
        }
      }),
    );
    return marked;
  }

  /** Unlinks files (ENOENT counts as gone) and syncs their folders; how many are durably gone. */
  private async unlinkFiles(files: ReadonlyArray<{ drive: number; path: string }>): Promise<number> {
    let gone = 0;
    await Promise.all(
      files.map(async ({ path }) => {
        try {
          await this.env.fs.unlink(path);
        } catch (error) {
          if ((error as { code?: string }).code !== 'ENOENT') return;
        }
        try {
          await this.env.fs.syncDir(path.slice(0, path.lastIndexOf('/')));
          gone++;
        } catch (error) {
          if ((error as { code?: string }).code === 'ENOENT') gone++;
        }
      }),
    );
    return gone;
  }

  /** Per drive: reachable or not, and how many shards it holds (`sop inspect`). */
  driveHealth(): Promise<DriveHealth[]> {
    return driveHealth(this);
  }

  // ---- for repair.ts and scrub.ts ----

  /** Runs `task` holding the blob's lock (no concurrent write, delete or repair of it). */
  locked<T>(id: string, task: () => Promise<T>): Promise<T> {
    return this.locks.run(id, task);
  }

  /**
   * Whether the blob is garbage, not data (call holding its lock): its write failed, or this
   * process began deleting it. A repair never rebuilds it.
   */
  isDead(id: string): boolean {
    return this.doomed.has(id) || this.tombstoned.has(id);
  }

  /** Whether some drive holds the blob's tombstone (a delete a repair must not undo, or count as a loss). */
  async hasTombstone(id: string): Promise<boolean> {
    const marks = await Promise.all(this.config.drives.map((_, d) => this.env.fs.stat(this.tombstonePath(d, id)).then((s) => s !== null, () => false)));
    return marks.some((m) => m);
  }

  /** Deletes what is left of a dead blob (call holding its lock); it stays doomed until every shard is gone. */
  async discardLocked(id: string): Promise<void> {
    if (this.tombstoned.has(id)) return; // purge() deletes it, then its tombstones
    await this.discard([id]);
  }

  /** Whether shard `drive` of the blob may exist without being durable (see unsettled). */
  isUnsettled(drive: number, id: string): boolean {
    return this.unsettled.has(`${drive}:${id}`);
  }

  /** The shard's folder (fan-out folder of drive `drive` holding it). */
  shardFolder(drive: number, id: string): string {
    return joinPath(this.folderOn(drive), id.slice(0, 2));
  }

  /** Makes the entry of a shard that reads back valid durable: its folder, then the folder chain. */
  async secureShard(drive: number, id: string): Promise<void> {
    await this.env.fs.syncDir(this.shardFolder(drive, id));
    await this.secureDrive(drive);
    this.unsettled.delete(`${drive}:${id}`);
  }

  async readShard(drive: number, id: string): Promise<ShardRead> {
    try {
      return { file: await this.env.fs.readFile(this.shardPath(drive, id)), failure: null, detail: '' };
    } catch (error) {
      const missing = (error as { code?: string }).code === 'ENOENT';
      return { file: null, failure: missing ? 'missing' : 'io', detail: missing ? 'missing' : message(error) };
    }
  }

  async readAll(id: string): Promise<ShardRead[]> {
    return Promise.all(range(0, this.codec.total).map((d) => this.readShard(d, id)));
  }

  /**
   * Writes one shard durably, recreating its folder when the drive was replaced. Durably means
   * its folder chain too: a repair whose prepareDrives() failed half way (sim seed 500209: ENOSPC
   * after 150 of the 256 fan-out folders of a replaced drive, so the blobs folder was never
   * synced) used to write into a fan-out folder whose entry a power loss then reverted, losing
   * the rebuilt shard it had reported rewritten; with another shard rotted, the blob was lost.
   */
  async writeShard(drive: number, id: string, file: Uint8Array): Promise<void> {
    try {
      await this.writeShardOnce(drive, id, file);
    } catch (error) {
      this.unsettle(drive, id); // the file may be there, in the page cache only
      throw error;
    }
    this.unsettled.delete(`${drive}:${id}`);
  }

  private async writeShardOnce(drive: number, id: string, file: Uint8Array): Promise<void> {
    const folder = joinPath(this.folderOn(drive), id.slice(0, 2));
    try {
      await writeSynced(this.env.fs, this.shardPath(drive, id), file);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
      try {
        await ensureDurableDir(this.env.fs, folder);
      } catch (mkdirError) {
        this.doubts[drive]!++; // a folder made before the failure may not be durable
        throw mkdirError;
      }
      await writeSynced(this.env.fs, this.shardPath(drive, id), file);
    }
    await this.env.fs.syncDir(folder);
    await this.secureDrive(drive);
  }

  /**
   * Makes the store's folders on drive `d` durable (the blobs folder's fan-out entries, the
   * store folder's blobs entry, the drive's store entry) unless this instance already did and
   * created no folder there since; `force` syncs them anyway. Rejects when a sync fails.
   */
  private async secureDrive(d: number, force = false): Promise<void> {
    const doubts = this.doubts[d]!;
    if (!force && this.settled[d] === doubts) return;
    await this.env.fs.syncDir(this.folderOn(d));
    await this.env.fs.syncDir(parentDir(this.folderOn(d)));
    await this.env.fs.syncDir(this.config.drives[d]!);
    this.settled[d] = Math.max(this.settled[d]!, doubts);
  }

  /** Called by repair: the blob has all its shards again. */
  repaired(id: string): void {
    this.pending.delete(id);
  }

  needsRepair(id: string): void {
    if (this.pending.size < MAX_PENDING) this.pending.add(id);
  }

  private unsettle(drive: number, id: string): void {
    if (this.unsettled.size < MAX_PENDING) this.unsettled.add(`${drive}:${id}`);
  }

  /**
   * Deletes every shard of blobs that are garbage (a failed write, an unfinished delete);
   * those with a shard left (its drive failing) stay doomed, for purge() or a repair to finish.
   */
  private async discard(ids: readonly string[]): Promise<void> {
    const gone = await this.unlinkAll(ids, true);
    for (const id of ids) {
      this.pending.delete(id);
      if (gone.get(id)!.size === this.codec.total) this.doomed.delete(id);
      else if (this.doomed.size < MAX_PENDING) this.doomed.add(id);
    }
  }

  private async readInto(id: string, drives: readonly number[], into: (ShardRead | undefined)[]): Promise<void> {
    await Promise.all(drives.map(async (d) => (into[d] = await this.readShard(d, id))));
  }

  private async folderPresent(drive: number): Promise<boolean> {
    try {
      return (await this.env.fs.stat(this.folderOn(drive)))?.isDirectory === true;
    } catch {
      return false; // a drive that cannot answer holds nothing readable now (reads count it among the missing, EC-1)
    }
  }

  /** Unlinks every shard of `ids`; the drives that no longer hold each blob's shard (ENOENT counts). */
  private async unlinkAll(ids: readonly string[], durable: boolean): Promise<Map<string, Set<number>>> {
    const gone = new Map(ids.map((id) => [id, new Set<number>()]));
    const tasks = ids.flatMap((id) => this.config.drives.map((_, drive) => ({ id, drive })));
    await parallel(tasks, 16, async ({ id, drive }) => {
      try {
        await this.env.fs.unlink(this.shardPath(drive, id));
        gone.get(id)!.add(drive);
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') gone.get(id)!.add(drive);
      }
    });
    if (durable) {
      // Every folder is synced, even for shards already gone: an earlier unlink may not be durable yet.
      const folders = new Map<string, { drive: number; ids: string[] }>();
      for (const { id, drive } of tasks) {
        const folder = joinPath(this.folderOn(drive), id.slice(0, 2));
        const entry = folders.get(folder) ?? { drive, ids: [] };
        entry.ids.push(id);
        folders.set(folder, entry);
      }
      await parallel([...folders].sort(), 8, async ([folder, { drive, ids: inFolder }]) => {
        try {
          await this.env.fs.syncDir(folder);
        } catch (error) {
          if ((error as { code?: string }).code !== 'ENOENT') for (const id of inFolder) gone.get(id)!.delete(drive);
        }
      });
      for (const [id, drives] of gone) for (const drive of drives) this.unsettled.delete(`${drive}:${id}`);
    }
    return gone;
  }
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
