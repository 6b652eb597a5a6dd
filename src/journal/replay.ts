import { LazyBlobs } from '../blobs/lazy-blobs.js';
import { FRAME_HEADER_SIZE, FRAME_MAGIC } from '../codec/frame.js';
import { SopError, corrupt } from '../errors/sop-error.js';
import type { FileHandle } from '../ports/file-system.js';
import type { Env } from '../ports/env.js';
import { segmentPath } from '../registry/registry.js';
import { SECTOR_SIZE, decodeSector } from '../registry/sector.js';
import type { StoreInfo } from '../store/store-info.js';
import type { StoreRepository } from '../store/store-repository.js';
import { readDurablyIfPresent, unlinkIfPresent } from '../util/durable-file.js';
import { retryCorrupt } from '../util/retry-corrupt.js';
import type { BNode } from '../btree/node.js';
import { logPath } from '../util/paths.js';
import { readCheckpointMark, writeCheckpointMark } from './mark.js';
import { checkAnyFrame } from '../codec/frame.js';
import { applyPatch } from '../codec/patch.js';
import { applyLeafItemPatch, decodeNode, encodeNode } from '../codec/node-codec.js';
import { type JournalBlob, type JournalRecord, type JournalSector, decodeRecord, journalPaths } from './record.js';

export interface ReplayReport {
  /** Records replayed (committed transactions whose changes may not have been durable). */
  replayed: number;
  /** The highest commit sequence number the journal covers now (the checkpoint mark; 0 when none). */
  seq: number;
  /**
   * Leaves replay could not rebuild: each was logged as item changes of a file on disk that no
   * read gave whole (damaged at rest, with no parity or replica to repair it). Its node reads
   * CORRUPT, as the damaged file made it before (JNL-4).
   */
  damaged: DamagedLeaf[];
}

/** A leaf journal replay could not rebuild: `leaf` (a blob id) of node `node`, logged as item changes of `base`. */
export interface DamagedLeaf {
  readonly store: string;
  readonly leaf: string;
  readonly node: string;
  readonly base: string;
  readonly why: string;
}

/** One store as replay finds it on disk. */
interface Target {
  readonly info: StoreInfo;
  readonly dir: string;
  readonly blobs: LazyBlobs;
  readonly segments: Map<number, FileHandle>;
  /** The sector images this replay wrote last (the bases of sector patches). */
  readonly sectors: Map<string, Uint8Array>;
  newInfo: StoreInfo | null;
}

/** Reads of the journal before a damaged record counts as its end (as for priority logs, REC-4). */
const READ_ATTEMPTS = 8;

/**
 * Replays the journal at open, before any store is loaded (spec JNL-4): every record after the
 * checkpoint mark, in order, writes its blobs, its sector after-images and its store infos and
 * deletes what it made obsolete; all of it is then synced, the mark moves past them, and the
 * step logs of the replayed transactions are deleted (their stores stay). Parts for a store that
 * is gone, or that was removed and created again (another root id), are skipped. Idempotent: a
 * crash during replay replays again.
 */
export async function replayJournal(env: Env, dir: string, repo: StoreRepository): Promise<ReplayReport> {
  const mark = await readCheckpointMark(env, dir);
  const records = await readJournals(env, dir, mark.seq);
  const report: ReplayReport = { replayed: 0, seq: mark.seq, damaged: [] };
  const targets = new Map<string, Target | null>();
  const doomed = new Map(Object.entries(mark.doomed).map(([store, ids]) => [store, new Set(ids)]));
  try {
    for (const record of records) {
      await replayOne(env, repo, record, targets, report.damaged);
      report.replayed++;
      report.seq = record.seq;
    }
    for (const [name, target] of targets) {
      if (!target) continue;
      await makeDurable(repo, target);
      const ids = doomed.get(name) ?? new Set<string>();
      for (const id of target.blobs.doomedIds()) ids.add(id);
      doomed.set(name, ids);
    }
  } finally {
    for (const target of targets.values()) for (const file of target?.segments.values() ?? []) await file.close().catch(() => undefined); // replay's outcome is decided: its files only need letting go
  }
  if (records.length > 0) {
    const lists = Object.fromEntries([...doomed].map(([name, ids]) => [name, [...ids]]));
    await writeCheckpointMark(env, dir, { seq: report.seq, doomed: lists });
    for (const record of records) await unlinkIfPresent(env, logPath(dir, record.tid));
    await env.fs.syncDir(dir);
  }
  // The obsolete files the mark lists (this replay's, or a checkpoint's that crashed before deleting them).
  for (const [name, ids] of doomed) {
    const found = ids.size > 0 ? await repo.readInfoOf(name) : null;
    if (found) await repo.blobsOf(name, found.dir).removeAll([...ids], true);
  }
  return report;
}

/**
 * The records after the mark in both journal files, in sequence order (JNL-3: the commits after a
 * checkpoint's cut go to the other file; when the checkpoint did not finish, both hold records
 * above the mark, the older file's all below the newer one's).
 */
async function readJournals(env: Env, dir: string, mark: number): Promise<JournalRecord[]> {
  const records: JournalRecord[] = [];
  for (const path of journalPaths(dir)) records.push(...(await readJournal(env, path, mark)));
  records.sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < records.length; i++) {
    if (records[i]!.seq === records[i - 1]!.seq) throw corrupt(`${dir}: two journal records with sequence number ${records[i]!.seq}`);
  }
  return records;
}

/**
 * The records after the mark in one journal file: from offset 0, each valid and newer than the
 * one before; the first that is not (zeros, a torn or stale record) ends the journal. Records are appended one at a
 * time, each durable before the next, so only the last can be torn; a valid newer record after
 * a damaged one means damage, not a torn end, and is refused (CORRUPT) rather than dropped.
 */
async function readJournal(env: Env, path: string, mark: number): Promise<JournalRecord[]> {
  let best: { records: JournalRecord[]; end: number; damaged: boolean } = { records: [], end: 0, damaged: false };
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    const bytes = await readDurablyIfPresent(env, path);
    if (!bytes) return [];
    const parsed = parseJournal(bytes, mark);
    if (parsed.records.length >= best.records.length) best = parsed;
    if (!parsed.damaged) return parsed.records;
    if (attempt === READ_ATTEMPTS - 1 && newerRecordAfter(bytes, best.end + 1, best.records.at(-1)?.seq ?? mark)) {
      throw corrupt(`${path}: a record is damaged and a newer one follows it`);
    }
  }
  return best.records;
}

function parseJournal(bytes: Uint8Array, mark: number): { records: JournalRecord[]; end: number; damaged: boolean } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: JournalRecord[] = [];
  let at = 0;
  let last = 0;
  while (at + FRAME_HEADER_SIZE <= bytes.length && view.getUint32(at, true) === FRAME_MAGIC) {
    const end = at + FRAME_HEADER_SIZE + view.getUint32(at + 8, true);
    const record = end <= bytes.length ? decodeRecord(bytes.subarray(at, end), `journal @${at}`) : null;
    if (!record) return { records, end: at, damaged: true };
    if (record.seq <= last) break; // a stale record of an earlier cycle: the journal ends before it
    // Records the mark covers can precede newer ones (a checkpoint whose mark write failed kept
    // the file going): they are skipped, not replayed.
    if (record.seq > mark) records.push(record);
    last = record.seq;
    at = end;
  }
  return { records, end: at, damaged: false };
}

/** Whether a valid record newer than `seq` starts at or after `from`. */
function newerRecordAfter(bytes: Uint8Array, from: number, seq: number): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = from; at + FRAME_HEADER_SIZE <= bytes.length; at++) {
    if (view.getUint32(at, true) !== FRAME_MAGIC) continue;
    const end = at + FRAME_HEADER_SIZE + view.getUint32(at + 8, true);
    const record = end <= bytes.length ? decodeRecord(bytes.subarray(at, end), 'scan') : null;
    if (record && record.seq > seq) return true;
  }
  return false;
}

async function replayOne(env: Env, repo: StoreRepository, record: JournalRecord, targets: Map<string, Target | null>, damaged: DamagedLeaf[]): Promise<void> {
  const live = new Map<string, Target>();
  for (const part of record.stores) {
    const target = await targetOf(repo, part.name, targets);
    if (!target || target.info.rootId !== part.rootId) continue; // gone, or another incarnation (JNL-4)
    live.set(part.name, target);
    if (part.info && record.seq >= (target.newInfo ?? target.info).commitSeq) target.newInfo = part.info;
  }
  for (const s of record.sectors) {
    const target = live.get(s.store);
    if (!target) continue;
    const bytes = sectorImage(target, s, record.tid);
    await (await segmentFile(env, target, s.store, s.segment)).write(s.sector * SECTOR_SIZE, bytes);
    target.sectors.set(`${s.segment}:${s.sector}`, bytes);
  }
  for (const [name, target] of live) {
    const blobs = [];
    for (const b of record.blobs.filter((x) => x.store === name)) {
      const bytes = await rebuilt(target, b, record.tid).catch((error: unknown) => unrebuilt(target, b, error, damaged));
      if (bytes) blobs.push({ id: b.id, bytes, size: bytes.length });
    }
    // A checkpoint that failed before its mark may have written them: a later record that makes
    // one obsolete must delete its file (simulator seed 5043 --journal: an orphan).
    target.blobs.putLazily(blobs, true);
    target.blobs.removeLazily(record.obsolete.filter((o) => o.store === name).map((o) => o.id));
  }
}

/** A sector's after-image: whole in the record, or rebuilt from the image replay wrote last and checked by its CRC (JNL-1). */
function sectorImage(target: Target, s: JournalSector, tid: string): Uint8Array {
  const what = `journal record ${tid}: sector ${s.segment}:${s.sector}`;
  let bytes = s.bytes;
  if (s.ops) {
    const base = target.sectors.get(`${s.segment}:${s.sector}`);
    if (!base) throw corrupt(`${what}: its base image is not in the journal`);
    bytes = applyPatch(base, s.ops, s.bytes, what);
  }
  if (bytes.length !== SECTOR_SIZE) throw corrupt(`${what}: ${bytes.length} bytes`);
  decodeSector(bytes, what);
  return bytes;
}

/** A blob's bytes: whole in the record, or rebuilt from its base and checked by its frame CRC (JNL-1). */
async function rebuilt(target: Target, blob: JournalBlob, tid: string): Promise<Uint8Array> {
  if (blob.items) return await rebuiltLeaf(target, blob, blob.items, tid);
  if (!blob.patch) return blob.bytes;
  const { base: baseId, ops } = blob.patch;
  const what = `journal record ${tid}: blob ${blob.id}`;
  // Bases are blobs of this journal cycle, rebuilt by the records before this one (JNL-1).
  const base = target.blobs.base(baseId);
  if (!base) throw corrupt(`${what}: its base ${baseId} is not in the journal`);
  const bytes = applyPatch(base, ops, blob.bytes, what);
  checkAnyFrame(bytes, what);
  return bytes;
}

/**
 * A leaf whose base file on disk no read gives whole is not rebuilt: the open goes on, and the
 * node reads CORRUPT (its blob is missing), as the damaged base made it already; the report
 * names it. A base of this journal cycle is no such case (the journal's own CRCs cover it), nor is
 * any other failure: those stop the open.
 */
function unrebuilt(target: Target, blob: JournalBlob, error: unknown, damaged: DamagedLeaf[]): null {
  const base = blob.items?.base;
  if (!base || target.blobs.base(base) !== undefined || !SopError.is(error, 'CORRUPT')) throw error;
  damaged.push({ store: target.info.name, leaf: blob.id, node: blob.items!.node, base, why: (error as Error).message });
  return null;
}

/** A leaf logged as item changes: its base decoded, the changes applied, the leaf encoded again (JNL-1). */
async function rebuiltLeaf(target: Target, blob: JournalBlob, patch: NonNullable<JournalBlob['items']>, tid: string): Promise<Uint8Array> {
  const what = `journal record ${tid}: blob ${blob.id}`;
  const leaf = applyLeafItemPatch(await leafBase(target, patch, what), patch.ops, blob.bytes, what);
  try {
    return encodeNode(leaf);
  } catch (error) {
    throw corrupt(`${what}: its items do not encode (${error instanceof Error ? error.message : String(error)})`);
  }
}

/**
 * The leaf an item patch was made from: a blob of this journal cycle (rebuilt by the records
 * before this one), else the file a checkpoint, replay or store creation synced before the record
 * and that stays until a mark covers it (JNL-1). The file is read as a node read is: again when
 * it fails its checksum (a transient read error), repaired from parity or the replica where the
 * folder has them; CORRUPT when no read gives it whole.
 */
async function leafBase(target: Target, patch: NonNullable<JournalBlob['items']>, what: string): Promise<BNode> {
  const held = target.blobs.base(patch.base);
  if (held) return decodeNode(held, patch.node);
  return retryCorrupt(async () => {
    const bytes = await target.blobs.get(patch.base);
    if (!bytes) throw corrupt(`${what}: its base ${patch.base} is neither in the journal nor on disk`);
    return decodeNode(bytes, patch.node);
  }, READ_ATTEMPTS);
}

async function targetOf(repo: StoreRepository, name: string, targets: Map<string, Target | null>): Promise<Target | null> {
  if (targets.has(name)) return targets.get(name)!;
  const found = await repo.readInfoOf(name);
  const target = found && { info: found.info, dir: found.dir, blobs: new LazyBlobs(repo.blobsOf(name, found.dir)), segments: new Map(), sectors: new Map(), newInfo: null };
  targets.set(name, target);
  return target;
}

async function segmentFile(env: Env, target: Target, name: string, segment: number): Promise<FileHandle> {
  let file = target.segments.get(segment);
  if (!file) {
    try {
      file = await env.fs.open(segmentPath(target.dir, name, segment), 'readWrite');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') throw corrupt(`journal names segment ${segment} of store ${name}, which is missing`);
      throw error;
    }
    target.segments.set(segment, file);
  }
  return file;
}

async function makeDurable(repo: StoreRepository, target: Target): Promise<void> {
  for (const file of target.segments.values()) await file.datasync();
  await target.blobs.flush();
  if (target.newInfo) await repo.writeInfoAt(target.dir, target.newInfo);
}
