import { SopError, assert, corrupt } from '../errors/sop-error.js';
import type { FileHandle } from '../ports/file-system.js';
import type { Env } from '../ports/env.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { retryCorrupt } from '../util/retry-corrupt.js';
import { joinPath } from '../util/paths.js';
import { COW_REGION_SIZE, decodeCow, encodeCow } from './cow.js';
import type { Handle } from './handle.js';
import { SECTOR_SIZE, type SectorSlots, decodeSector, emptySlots, encodeSector, homeOf } from './sector.js';

/** One handle change of a transaction: `before` null = add, `after` null = delete. */
export interface HandleChange {
  readonly id: string;
  readonly before: Handle | null;
  readonly after: Handle | null;
}

export interface Location {
  segment: number;
  sector: number;
  slot: number;
}

/** Bound of the search for segments another process added (each is a file: far beyond any real registry). */
const MAX_SEGMENTS = 1_000_000;

/** The segment file `<store>-<n>.reg` in the store folder (journal replay writes it directly). */
export function segmentPath(dir: string, name: string, segment: number): string {
  return joinPath(dir, `${name}-${segment}.reg`);
}

/**
 * Cluster-wide exclusion of sector rewrites (clustered mode, spec CLU-2): runs `task` while no
 * other process rewrites these sectors of this store. Absent in standalone, where the
 * in-process mutex is enough.
 */
export type SectorGuard = <T>(store: string, sectors: readonly number[], task: () => Promise<T>) => Promise<T>;

/**
 * The handle registry of one store: an on-disk hashmap of 4096-byte sectors in segment
 * files `<store>-<n>.reg` (spec REG-1..REG-4).
 *
 * Two views are kept: the disk image (what the last write put on disk, the base of the next
 * write) and the published map (what transactions read). A commit writes first and publishes
 * later, in one synchronous step for all its stores, so no reader ever sees half a commit
 * (spec ACID-2).
 */
export class Registry {
  private readonly images = new Map<string, SectorSlots>();
  private readonly locations = new Map<string, Location>();
  private readonly published = new Map<string, Handle>();
  private readonly files = new Map<string, FileHandle>();
  private readonly mutex = new KeyedMutex();
  /** Journal mode: sector bytes adopted in memory and not yet written (the checkpoint writes them). */
  private readonly unflushed = new Map<string, Uint8Array>();
  /** Journal mode: the sector images the records since the last checkpoint's cut logged (bases of sector patches, JNL-1). */
  private readonly cycleImages = new Map<string, Uint8Array>();
  private segmentCount = 0;

  private constructor(
    private readonly env: Env,
    private readonly dir: string,
    private readonly name: string,
    readonly hashMod: number,
    private readonly guard: SectorGuard | undefined,
  ) {}

  /** Restores live cow images, then loads every segment (spec COW-3). */
  static async open(env: Env, dir: string, name: string, hashMod: number, liveTids: ReadonlySet<string>, guard?: SectorGuard, stillCommitted?: (tid: string) => Promise<boolean>): Promise<Registry> {
    const registry = new Registry(env, dir, name, hashMod, guard);
    try {
      await registry.restoreCows(liveTids, stillCommitted);
      await registry.load();
    } catch (error) {
      await registry.close().catch(() => undefined); // a refused open leaves no descriptor behind
      throw error;
    }
    return registry;
  }

  /** Writes the first segment of a brand-new store (inside its not-yet-visible folder). */
  static async create(env: Env, dir: string, name: string, hashMod: number): Promise<Registry> {
    const registry = new Registry(env, dir, name, hashMod, undefined);
    await registry.addSegment(false);
    return registry;
  }

  /** Other processes write this registry too (clustered mode): the published view may lag the disk. */
  get shared(): boolean {
    return this.guard !== undefined;
  }

  get(id: string): Handle | undefined {
    return this.published.get(id);
  }

  get size(): number {
    return this.published.size;
  }

  handles(): IterableIterator<Handle> {
    return this.published.values();
  }

  segmentPath(segment: number): string {
    return segmentPath(this.dir, this.name, segment);
  }

  cowPath(segment: number): string {
    return joinPath(this.dir, `${this.name}-${segment}.cow`);
  }

  /**
   * Durably writes the changes: before-images to the cow files (synced), then the sectors
   * (synced). `redo` filters changes by version so replaying a priority log is idempotent
   * (spec REC-2); `commit` asserts each change starts from what is on disk. `due`, asked once
   * the sectors are held, says whether a redo is still wanted (writes nothing when not).
   */
  async write(tid: string, changes: readonly HandleChange[], mode: 'commit' | 'redo', due?: () => Promise<boolean>): Promise<HandleChange[]> {
    if (changes.length === 0) return [];
    const sectors = [...new Set(changes.map((c) => homeOf(c.id, this.hashMod).sector))];
    const rewrite = async (): Promise<HandleChange[]> => {
      // Other processes rewrite sectors too: start from what is on disk, not from our image.
      if (this.guard) await this.reloadSectors(sectors);
      if (due && !(await due())) return [];
      const touched = new Map<string, SectorSlots>();
      const applied = changes.filter((change) => this.stage(change, mode, touched));
      if (applied.length > 0) await this.persist(tid, touched); // a redo found everything applied: nothing to write
      return applied;
    };
    return this.mutex.runAll(
      sectors.map((s) => String(s)),
      () => (this.guard ? this.guard(this.name, sectors, rewrite) : rewrite()),
    );
  }

  /**
   * Re-reads every segment and adopts it as the published view: in clustered mode other
   * processes commit to the same files (spec CLU-1). A sector caught mid-write fails its
   * checksum and is read again.
   */
  async reload(): Promise<void> {
    const all = Array.from({ length: this.hashMod }, (_, i) => i);
    await this.mutex.runAll(all.map(String), async () => {
      await this.discoverSegments();
      const fresh = new Map<string, SectorSlots>();
      const expected = this.hashMod * SECTOR_SIZE;
      for (let segment = 1; segment <= this.segmentCount; segment++) {
        const file = await this.file(this.segmentPath(segment));
        await retryCorrupt(async () => this.decodeSegment(segment, await file.read(0, expected), fresh));
      }
      this.adopt(all, fresh);
    });
  }

  /** Re-reads these sectors of every segment from disk (under the caller's sector locks). */
  private async reloadSectors(sectors: readonly number[]): Promise<void> {
    await this.discoverSegments();
    const fresh = new Map<string, SectorSlots>();
    for (let segment = 1; segment <= this.segmentCount; segment++) {
      const file = await this.file(this.segmentPath(segment));
      for (const sector of sectors) {
        const where = `${this.segmentPath(segment)} sector ${sector}`;
        fresh.set(`${segment}:${sector}`, await retryCorrupt(async () => decodeSector(await file.read(sector * SECTOR_SIZE, SECTOR_SIZE), where)));
      }
    }
    this.adopt(sectors, fresh);
  }

  /** Segments another process added since we looked (only complete ones count). */
  private async discoverSegments(): Promise<void> {
    for (let segment = this.segmentCount + 1; segment <= MAX_SEGMENTS; segment++) {
      const stat = await this.env.fs.stat(this.segmentPath(segment));
      if (!stat || stat.size !== this.hashMod * SECTOR_SIZE) return;
      this.segmentCount = segment;
    }
  }

  /** Replaces images, locations and published handles of these sectors at once (synchronous). */
  private adopt(sectors: readonly number[], fresh: ReadonlyMap<string, SectorSlots>): void {
    const replaced = new Set(sectors);
    // By home sector, not by known location: a write whose persist failed has already moved or
    // dropped locations of handles that stay published, and such a handle, found by nothing
    // here, stayed in the view for good (clustered seed 1713004302: a redo's failed write, then
    // checkStore saw a deleted handle that no reload removed, STRUCT-2).
    for (const id of this.published.keys()) if (replaced.has(homeOf(id, this.hashMod).sector)) this.published.delete(id);
    for (const [id, at] of this.locations) if (replaced.has(at.sector)) this.locations.delete(id);
    for (const [key, slots] of fresh) {
      const [segment, sector] = key.split(':').map(Number) as [number, number];
      this.images.set(key, slots);
      slots.forEach((handle, slot) => {
        if (!handle) return;
        this.locations.set(handle.logicalId, { segment, sector, slot });
        this.published.set(handle.logicalId, handle);
      });
    }
  }

  private decodeSegment(segment: number, bytes: Uint8Array, into: Map<string, SectorSlots>): void {
    for (let sector = 0; sector < this.hashMod; sector++) {
      const raw = bytes.subarray(sector * SECTOR_SIZE, (sector + 1) * SECTOR_SIZE);
      into.set(`${segment}:${sector}`, decodeSector(raw, `${this.segmentPath(segment)} sector ${sector}`));
    }
  }

  /** Publishes what the disk image holds for these ids (redo may find changes already written, REC-2). */
  republish(ids: readonly string[]): void {
    for (const id of ids) {
      const at = this.locations.get(id);
      const handle = at ? this.images.get(`${at.segment}:${at.sector}`)?.[at.slot] : null;
      if (handle) this.published.set(id, handle);
      else this.published.delete(id);
    }
  }

  /** Makes written changes visible to readers. Synchronous on purpose (spec ACID-2). */
  publish(changes: readonly HandleChange[]): void {
    for (const change of changes) {
      if (change.after) this.published.set(change.id, change.after);
      else this.published.delete(change.id);
    }
  }

  /** Makes every segment durable (recovery relies on what it read, spec REC-2). */
  async sync(): Promise<void> {
    for (let segment = 1; segment <= this.segmentCount; segment++) await (await this.file(this.segmentPath(segment))).datasync();
  }

  async close(): Promise<void> {
    const files = [...this.files.values()];
    this.files.clear();
    await Promise.all(files.map((f) => f.close()));
  }

  /**
   * Journal mode (spec JNL-1): the sector after-images `changes` lead to, computed without
   * writing anything but new segments (made durable: an empty segment is harmless). The caller
   * logs the images, then calls `applyStaged`; nothing else writes this registry in between
   * (the journal mutex). Locations move only when applied, so an abandoned stage leaves no trace.
   */
  async stageForJournal(changes: readonly HandleChange[]): Promise<StagedSectors> {
    assert(!this.guard, `registry ${this.name}: journal commits are standalone only`);
    const touched = new Map<string, SectorSlots>();
    const moved = new Map<string, Location | null>();
    for (const change of changes) this.stage(change, 'commit', touched, moved);
    const images = [...touched.entries()].map(([key, slots]) => {
      const [segment, sector] = key.split(':').map(Number) as [number, number];
      return { key, segment, sector, slots, bytes: encodeSector(slots) };
    });
    while (images.some((e) => e.segment > this.segmentCount)) await this.addSegment(true);
    return { images, moved };
  }

  /**
   * Adopts staged sectors in memory only: the journal record holds them, and the checkpoint
   * writes them (flush, spec JNL-2, JNL-3).
   */
  applyStaged(staged: StagedSectors): void {
    for (const e of staged.images) {
      this.images.set(e.key, e.slots);
      this.unflushed.set(e.key, e.bytes);
      this.cycleImages.set(e.key, e.bytes);
    }
    for (const [id, at] of staged.moved) {
      if (at) this.locations.set(id, at);
      else this.locations.delete(id);
    }
  }

  /** Journal mode: the image of a sector as the last commit of this journal cycle left it, if one changed it. */
  unflushedImage(key: string): Uint8Array | undefined {
    return this.cycleImages.get(key);
  }

  /**
   * Journal mode, at a checkpoint's cut: records from now on log each sector's first change
   * whole (replay skips the records the checkpoint covers, and the images a patch would build on).
   */
  startCycle(): void {
    this.cycleImages.clear();
  }

  /** Checkpoint (spec JNL-3): writes the sectors journal commits changed since the last one, then syncs them. */
  async flush(): Promise<void> {
    const sectors = [...this.unflushed];
    const segments = new Set<number>();
    for (const [key, bytes] of sectors) {
      const [segment, sector] = key.split(':').map(Number) as [number, number];
      await (await this.file(this.segmentPath(segment))).write(sector * SECTOR_SIZE, bytes);
      segments.add(segment);
    }
    for (const segment of segments) await (await this.file(this.segmentPath(segment))).datasync();
    for (const [key, bytes] of sectors) if (this.unflushed.get(key) === bytes) this.unflushed.delete(key);
  }

  private stage(change: HandleChange, mode: 'commit' | 'redo', touched: Map<string, SectorSlots>, moved?: Map<string, Location | null>): boolean {
    const locations = moved ? overlay(this.locations, moved) : this.locations;
    const location = locations.get(change.id) ?? undefined;
    const current = location ? this.slotsFor(location.segment, location.sector, touched)[location.slot]! : null;
    if (mode === 'redo' && !redoApplies(change, current)) return false;
    if (mode === 'commit') {
      // A change already on disk was applied by another process's redo of our priority log
      // (clustered mode, after a coordinator restart): nothing left to do (spec REC-2).
      if (this.guard && alreadyApplied(change, current)) return false;
      assert((current?.version ?? 0) === (change.before?.version ?? 0), `registry ${this.name}: ${change.id} changed under its node lock`);
    }
    if (change.after === null) {
      if (location) this.slotsFor(location.segment, location.sector, touched)[location.slot] = null;
      if (location) locations.delete(change.id);
      return true;
    }
    const target = location ?? this.freeSlot(change.id, touched);
    this.slotsFor(target.segment, target.sector, touched)[target.slot] = change.after;
    locations.set(change.id, target);
    return true;
  }

  /**
   * The slot for a new handle: its home slot, or any free slot of its home sector, in the first
   * segment that has one. One write may fill any number of new segments (persist adds them all):
   * looking only one segment past the existing ones made a commit that filled it fail after its
   * commit point, and every open after it, whose redo took the same path (found from outside:
   * registryHashMod 1, slotLength 4, 300 adds in one transaction).
   */
  private freeSlot(id: string, touched: Map<string, SectorSlots>): Location {
    const home = homeOf(id, this.hashMod);
    for (let segment = 1; ; segment++) {
      const slots = this.slotsFor(segment, home.sector, touched);
      if (slots[home.slot] === null) return { segment, sector: home.sector, slot: home.slot };
      const slot = slots.indexOf(null);
      if (slot >= 0) return { segment, sector: home.sector, slot };
    }
  }

  /** The working copy of a sector for this write, copied from the disk image on first touch. */
  private slotsFor(segment: number, sector: number, touched: Map<string, SectorSlots>): SectorSlots {
    const key = `${segment}:${sector}`;
    let slots = touched.get(key);
    if (!slots) {
      slots = [...(this.images.get(key) ?? emptySlots())];
      touched.set(key, slots);
    }
    return slots;
  }

  private async persist(tid: string, touched: Map<string, SectorSlots>): Promise<void> {
    const entries = [...touched.entries()].map(([key, slots]) => {
      const [segment, sector] = key.split(':').map(Number) as [number, number];
      return { key, segment, sector, slots };
    });
    while (entries.some((e) => e.segment > this.segmentCount)) await this.addSegment(true);
    const segments = [...new Set(entries.map((e) => e.segment))];
    for (const e of entries) {
      const before = encodeSector(this.images.get(e.key) ?? emptySlots());
      await (await this.file(this.cowPath(e.segment))).write(e.sector * COW_REGION_SIZE, encodeCow({ tid, segment: e.segment, sector: e.sector, bytes: before }));
    }
    for (const s of segments) await (await this.file(this.cowPath(s))).datasync();
    await this.env.point?.('cow.afterCowSync');
    for (const e of entries) {
      await (await this.file(this.segmentPath(e.segment))).write(e.sector * SECTOR_SIZE, encodeSector(e.slots));
    }
    await this.env.point?.('cow.afterSectorWrite');
    for (const s of segments) await (await this.file(this.segmentPath(s))).datasync();
    await this.env.point?.('cow.afterSectorSync');
    for (const e of entries) this.images.set(e.key, e.slots);
  }

  private async addSegment(syncDir: boolean): Promise<void> {
    const segment = this.segmentCount + 1;
    const reg = await this.env.fs.open(this.segmentPath(segment), 'create');
    await reg.truncate(this.hashMod * SECTOR_SIZE);
    await reg.sync();
    this.files.set(this.segmentPath(segment), reg);
    const cow = await this.env.fs.open(this.cowPath(segment), 'create');
    await cow.sync();
    this.files.set(this.cowPath(segment), cow);
    if (syncDir) await this.env.fs.syncDir(this.dir);
    this.segmentCount = segment;
  }

  private async file(path: string): Promise<FileHandle> {
    let handle = this.files.get(path);
    if (!handle) {
      handle = await this.env.fs.open(path, 'readWrite');
      this.files.set(path, handle);
    }
    return handle;
  }

  private async load(): Promise<void> {
    for (let segment = 1; ; segment++) {
      const stat = await this.env.fs.stat(this.segmentPath(segment));
      if (!stat) break;
      const expected = this.hashMod * SECTOR_SIZE;
      if (stat.size !== expected) throw corrupt(`${this.segmentPath(segment)}: size ${stat.size}, expected ${expected}`);
      const file = await this.file(this.segmentPath(segment));
      await retryCorrupt(async () => this.loadSegment(segment, await file.read(0, expected)));
      this.segmentCount = segment;
    }
    if (this.segmentCount === 0) throw corrupt(`${this.dir}: registry segment 1 is missing`);
  }

  /** Decodes a whole segment before adopting any of it, so a failed attempt leaves nothing behind. */
  private loadSegment(segment: number, bytes: Uint8Array): void {
    const decoded: Array<[number, SectorSlots]> = [];
    for (let sector = 0; sector < this.hashMod; sector++) {
      const raw = bytes.subarray(sector * SECTOR_SIZE, (sector + 1) * SECTOR_SIZE);
      if (raw[0] === 0 && raw[SECTOR_SIZE - 1] === 0 && raw.every((b) => b === 0)) continue;
      decoded.push([sector, decodeSector(raw, `${this.segmentPath(segment)} sector ${sector}`)]);
    }
    for (const [sector, slots] of decoded) {
      this.images.set(`${segment}:${sector}`, slots);
      slots.forEach((handle, slot) => {
        if (!handle) return;
        if (this.locations.has(handle.logicalId)) throw corrupt(`${this.name}: handle ${handle.logicalId} stored twice`);
        this.locations.set(handle.logicalId, { segment, sector, slot });
        this.published.set(handle.logicalId, handle);
      });
    }
  }

  /**
   * A cow region whose transaction still has a priority log may cover a torn sector write:
   * put the before-image back; the log's redo then re-applies the change (spec COW-3). Regions
   * of finished transactions are stale and ignored (spec COW-4).
   */
  private async restoreCows(liveTids: ReadonlySet<string>, stillCommitted?: (tid: string) => Promise<boolean>): Promise<number> {
    let restored = 0;
    for (let segment = 1; ; segment++) {
      const cowStat = await this.env.fs.stat(this.cowPath(segment));
      if (!cowStat) {
        if (!(await this.env.fs.stat(this.segmentPath(segment)))) break;
        continue;
      }
      const bytes = await (await this.file(this.cowPath(segment))).read(0, cowStat.size);
      for (let offset = 0; offset + COW_REGION_SIZE <= bytes.length; offset += COW_REGION_SIZE) {
        const image = decodeCow(bytes.subarray(offset, offset + COW_REGION_SIZE), `${this.cowPath(segment)}@${offset}`);
        if (!image || !liveTids.has(image.tid)) continue;
        if (image.segment !== segment || image.sector * COW_REGION_SIZE !== offset) continue;
        const put = async (): Promise<boolean> => {
          // Only a torn sector is put back: an intact one holds either the old or the new image,
          // and redo finishes either. Restoring an intact sector would undo whatever other
          // processes committed to it since (clustered mode; found by the clustered simulator,
          // seed 109734349 --nodes 3, where a later commit's handles went back two versions).
          // `liveTids` was taken before: the transaction may have finished since, and its image
          // put back over a sector that reads as torn (bit rot in every read) would undo its
          // commit after its old blobs were deleted (found by the clustered seed 976553744:
          // a node whose blob was missing). Checked under the sector's guard.
          if (stillCommitted && !(await stillCommitted(image.tid))) return false;
          if (await this.sectorIntact(segment, image.sector)) return false;
          await (await this.file(this.segmentPath(segment))).write(image.sector * SECTOR_SIZE, image.bytes);
          return true;
        };
        if (await (this.guard ? this.guard(this.name, [image.sector], put) : put())) restored++;
      }
      if (restored > 0) await (await this.file(this.segmentPath(segment))).datasync();
    }
    return restored;
  }

  /** Whether the sector decodes (read a few times: bit rot in transit must not pass for a torn write). */
  private async sectorIntact(segment: number, sector: number): Promise<boolean> {
    const file = await this.file(this.segmentPath(segment));
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        decodeSector(await file.read(sector * SECTOR_SIZE, SECTOR_SIZE), `${this.segmentPath(segment)} sector ${sector}`);
        return true;
      } catch (error) {
        if (!SopError.is(error, 'CORRUPT')) throw error;
      }
    }
    return false;
  }
}

/** Journal mode: what one commit will write to a registry (sector after-images) and where its handles move. */
export interface StagedSectors {
  readonly images: ReadonlyArray<{ key: string; segment: number; sector: number; slots: SectorSlots; bytes: Uint8Array }>;
  readonly moved: ReadonlyMap<string, Location | null>;
}

/** A map view that reads `moved` first (null = deleted there) and writes only to `moved`. */
function overlay(base: ReadonlyMap<string, Location>, moved: Map<string, Location | null>): Pick<Map<string, Location | null>, 'get' | 'set' | 'delete'> {
  return {
    get: (id) => (moved.has(id) ? moved.get(id) : base.get(id)),
    set(id, at) {
      moved.set(id, at);
      return this as never;
    },
    delete: (id) => (moved.set(id, null), true),
  };
}

function alreadyApplied(change: HandleChange, current: Handle | null): boolean {
  if (change.after === null) return current === null;
  return current !== null && current.version === change.after.version && current.physicalA === change.after.physicalA && current.physicalB === change.after.physicalB;
}

/** Redo applies a logged change only if the slot still holds the state the log started from. */
function redoApplies(change: HandleChange, current: Handle | null): boolean {
  if (change.after === null) return current !== null && current.version <= (change.before?.version ?? 0);
  if (current === null) return change.before === null;
  return current.version < change.after.version;
}
