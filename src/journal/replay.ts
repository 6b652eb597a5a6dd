import type { Blobs } from '../blobs/blobs.js';
import { corrupt } from '../errors/sop-error.js';
import type { FileHandle } from '../ports/file-system.js';
import type { Env } from '../ports/env.js';
import { segmentPath } from '../registry/registry.js';
import { SECTOR_SIZE } from '../registry/sector.js';
import type { StoreInfo } from '../store/store-info.js';
import type { StoreRepository } from '../store/store-repository.js';
import { logPath, unlinkIfPresent } from '../txn/logs.js';
import { readDurablyIfPresent } from '../txn/recovery.js';
import { readCheckpointMark, writeCheckpointMark } from './mark.js';
import { type JournalRecord, decodeRecord, journalPath, journalTid } from './record.js';

export interface ReplayReport {
  /** Records replayed (committed transactions whose changes may not have been durable). */
  replayed: number;
  /** Torn records: their transactions never reached the commit point. */
  discarded: number;
  /** The highest commit sequence number replayed (0 when none). */
  seq: number;
}

/** One store as replay finds it on disk. */
interface Target {
  readonly info: StoreInfo;
  readonly dir: string;
  readonly blobs: Blobs;
  readonly segments: Map<number, FileHandle>;
  readonly written: Set<string>;
  readonly removed: Set<string>;
  newInfo: StoreInfo | null;
}

/** Reads of a record before its damage counts as a torn write (as for priority logs, REC-4). */
const READ_ATTEMPTS = 8;

/**
 * Replays the journal at open, before any store is loaded (spec JNL-4): every intact record in
 * commit order writes its blobs, its sector after-images, its store infos and deletes what it
 * made obsolete; all of it is then synced, and only then are the records deleted. Parts for a
 * store that is gone, or that was removed and created again (another root id), are skipped.
 * Idempotent: a crash during replay replays again. Torn records are deleted: their
 * transactions were never acknowledged, and nothing of them was written (JNL-2).
 */
export async function replayJournal(env: Env, dir: string, repo: StoreRepository): Promise<ReplayReport> {
  const tids = (await env.fs.readdir(dir)).map(journalTid).filter((t): t is string => t !== null);
  const mark = await readCheckpointMark(env, dir);
  const report: ReplayReport = { replayed: 0, discarded: 0, seq: mark };
  if (tids.length === 0) return report;
  const records: JournalRecord[] = [];
  const committed: string[] = [];
  for (const tid of tids) {
    const record = await readRecord(env, dir, tid);
    if (record) committed.push(tid);
    if (record && record.seq > mark) records.push(record);
    else if (!record) report.discarded++;
  }
  records.sort((a, b) => a.seq - b.seq);
  const targets = new Map<string, Target | null>();
  try {
    for (const record of records) {
      await replayOne(env, repo, record, targets);
      report.replayed++;
      report.seq = Math.max(report.seq, record.seq);
    }
    for (const target of targets.values()) if (target) await makeDurable(repo, target);
  } finally {
    for (const target of targets.values()) for (const file of target?.segments.values() ?? []) await file.close().catch(() => undefined);
  }
  if (report.seq > mark) await writeCheckpointMark(env, dir, report.seq);
  // A replayed transaction's step log only lists stores it created (journal commits log nothing
  // else there): it goes first, durably, so a recovery can never undo those stores (JNL-4).
  for (const tid of committed) await unlinkIfPresent(env, logPath(dir, tid));
  await env.fs.syncDir(dir);
  for (const tid of tids) await unlinkIfPresent(env, journalPath(dir, tid));
  await env.fs.syncDir(dir);
  return report;
}

async function readRecord(env: Env, dir: string, tid: string): Promise<JournalRecord | null> {
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    const bytes = await readDurablyIfPresent(env, journalPath(dir, tid));
    if (!bytes) return null;
    const record = decodeRecord(bytes, `${tid}.wal`);
    if (record) return record;
  }
  return null;
}

async function replayOne(env: Env, repo: StoreRepository, record: JournalRecord, targets: Map<string, Target | null>): Promise<void> {
  const live = new Map<string, Target>();
  for (const part of record.stores) {
    const target = await targetOf(repo, part.name, targets);
    if (!target || target.info.rootId !== part.rootId) continue; // gone, or another incarnation (JNL-4)
    live.set(part.name, target);
    if (part.info && part.info.rootId === target.info.rootId && record.seq >= (target.newInfo ?? target.info).commitSeq) target.newInfo = part.info;
  }
  for (const s of record.sectors) {
    const target = live.get(s.store);
    if (!target) continue;
    if (s.bytes.length !== SECTOR_SIZE) throw corrupt(`journal record ${record.tid}: sector image of ${s.bytes.length} bytes`);
    await (await segmentFile(env, target, s.store, s.segment)).write(s.sector * SECTOR_SIZE, s.bytes);
  }
  for (const [name, target] of live) {
    const blobs = record.blobs.filter((b) => b.store === name);
    await target.blobs.putLazily!(blobs);
    for (const b of blobs) target.written.add(b.id);
    const obsolete = record.obsolete.filter((o) => o.store === name).map((o) => o.id);
    await target.blobs.removeAll(obsolete);
    for (const id of obsolete) target.removed.add(id);
  }
}

async function targetOf(repo: StoreRepository, name: string, targets: Map<string, Target | null>): Promise<Target | null> {
  if (targets.has(name)) return targets.get(name)!;
  const found = await repo.readInfoOf(name);
  const target = found && { info: found.info, dir: found.dir, blobs: repo.blobsOf(name, found.dir), segments: new Map(), written: new Set<string>(), removed: new Set<string>(), newInfo: null };
  if (target && !target.blobs.putLazily) throw corrupt(`journal names store ${name}, whose blobs cannot be journaled (erasure coded?)`);
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
  await target.blobs.makeDurable!([...target.written], [...target.removed]);
  if (target.newInfo) await repo.writeInfoAt(target.dir, target.newInfo);
}
