import { corrupt } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import type { Store } from '../store/store.js';
import type { StoreRepository } from '../store/store-repository.js';
import { readDurablyIfPresent, unlinkIfPresent } from '../util/durable-file.js';
import { joinPath, logPath, plgPath, redonePath } from '../util/paths.js';
import { type BlobRef, FENCE_KEEP_MS, type PriorityLog, type StepRecord, parsePriorityLog, parseStepLog, redoStillDue, removePriorityLog, writeFence } from './logs.js';

/** What the logs in `translogs/` say about one transaction. */
export interface LogState {
  readonly tid: string;
  readonly records: StepRecord[];
  readonly done: boolean;
  /** undefined: no .plg file; null: a torn or corrupt one (its commit point was never reached). */
  readonly plg: PriorityLog | null | undefined;
}

export interface RecoveryReport {
  redone: number;
  undone: number;
  cleaned: number;
}

/**
 * Reads every log of transactions not in `live`. What recovery acts on must itself be durable
 * first: a log seen in the page cache after a failed sync could still vanish in a power loss,
 * so each one is synced, and the folder too, before it is trusted (spec REC-1).
 */
export interface ScanOptions {
  /**
   * Clustered mode (spec CLU-4): whether a transaction without a valid priority log has been
   * quiet long enough to be undone, given the newest modification time of its log files. Even
   * without a liveness lock it may still be running (a Coordinator restart drops the locks of
   * live transactions); ClusterSync answers by watching the file times on its own clock.
   */
  readonly quietLongEnough?: (tid: string, mtimeMs: number) => boolean;
}

export async function scanLogs(env: Env, dir: string, isLive: (tid: string) => boolean | Promise<boolean>, options: ScanOptions = {}): Promise<LogState[]> {
  const names = new Map<string, string[]>();
  for (const name of await env.fs.readdir(dir)) {
    const match = /^([0-9a-f-]{36})\.(log|plg|redone)$/.exec(name);
    if (match) names.set(match[1]!, [...(names.get(match[1]!) ?? []), name]);
  }
  await dropLoneRedoneMarks(env, dir, names);
  // A transaction that is not live when we look is over for good: its files are final, so they
  // are read only after that check (reading first could act on a commit still in flight).
  const byTid = new Map<string, { log?: Uint8Array; plg?: Uint8Array }>();
  for (const [tid, files] of names) {
    if (await isLive(tid)) continue;
    const entry: { log?: Uint8Array; plg?: Uint8Array } = {};
    for (const name of files.filter((n) => !n.endsWith('.redone'))) {
      const bytes = await readDurablyIfPresent(env, joinPath(dir, name));
      if (bytes) entry[name.endsWith('.plg') ? 'plg' : 'log'] = bytes;
    }
    byTid.set(tid, entry);
  }
  if (byTid.size > 0) await env.fs.syncDir(dir);
  const states: LogState[] = [];
  for (const [tid, files] of byTid) {
    const state = await readState(env, dir, tid, files);
    if (options.quietLongEnough && !state.plg && !options.quietLongEnough(tid, await newestMtime(env, dir, tid))) continue;
    states.push(state);
  }
  return states;
}

/**
 * A redone mark without its priority log is left by a crash between their removals, or by a
 * committer that marked a log its owner removed meanwhile: it guards nothing and goes. The
 * names map keeps the transactions that still have a log.
 */
async function dropLoneRedoneMarks(env: Env, dir: string, names: Map<string, string[]>): Promise<void> {
  for (const [tid, files] of names) {
    if (files.some((n) => n.endsWith('.plg'))) continue;
    if (files.some((n) => n.endsWith('.redone'))) await unlinkIfPresent(env, redonePath(dir, tid));
    if (files.every((n) => n.endsWith('.redone'))) names.delete(tid);
  }
}

async function newestMtime(env: Env, dir: string, tid: string): Promise<number> {
  let newest = -1;
  for (const path of [logPath(dir, tid), plgPath(dir, tid)]) {
    const stat = await env.fs.stat(path);
    if (stat) newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

/** Reads of a log before its damage counts as real: media errors in transit are rare and independent. */
export const READ_ATTEMPTS = 8;

/**
 * Decodes one transaction's logs. A checksum failure is read again (a transient media error
 * must not turn a committed transaction into an undone one); a step log still damaged in the
 * middle is corruption (spec REC-4).
 */
async function readState(env: Env, dir: string, tid: string, files: { log?: Uint8Array; plg?: Uint8Array }): Promise<LogState> {
  let { log, plg } = files;
  let parsedLog = log ? parseStepLog(log, `${tid}.log`) : { records: [], intact: true, clean: true };
  let parsedPlg = plg === undefined ? undefined : parsePriorityLog(plg, `${tid}.plg`);
  // Each file is read again only while its own parse is damaged: a clean read is kept, never
  // replaced by a later read that a transient media error spoiled (sim seed 598579142).
  for (let attempt = 1; attempt < READ_ATTEMPTS && (!parsedLog.clean || parsedPlg === null); attempt++) {
    if (!parsedLog.clean) {
      log = (await readDurablyIfPresent(env, logPath(dir, tid))) ?? undefined;
      parsedLog = log ? parseStepLog(log, `${tid}.log`) : { records: [], intact: true, clean: true };
    }
    if (parsedPlg === null) {
      plg = (await readDurablyIfPresent(env, plgPath(dir, tid))) ?? undefined;
      parsedPlg = plg === undefined ? undefined : parsePriorityLog(plg, `${tid}.plg`);
    }
  }
  if (!parsedLog.intact) throw corrupt(`step log of transaction ${tid} is damaged before its end`);
  return { tid, records: parsedLog.records, done: parsedLog.records.some((r) => r.type === 'done'), plg: parsedPlg };
}

/** Transactions past their commit point whose registry flip may be incomplete (spec REC-2). */
export function needsRedo(states: readonly LogState[]): LogState[] {
  return states.filter((s) => s.plg && !s.plg.fenced && !s.done).sort((a, b) => a.plg!.seq - b.plg!.seq);
}

export interface RecoverOptions {
  /**
   * Clustered mode (spec CLU-6): before undoing a transaction without a priority log, take its
   * commit point with a fence (logs.ts writeFence), so its process, if it was only paused, can
   * never commit afterwards. The fence stays FENCE_KEEP_MS.
   */
  readonly fence?: boolean;
}

/**
 * Brings every dead transaction to an end (spec REC-1..REC-4): redo the committed ones from
 * their priority logs in commit order, finish the cleanup of the done ones, undo the rest.
 * Idempotent: a crash during recovery is recovered by the next run.
 */
export async function recover(env: Env, dir: string, repo: StoreRepository, states: readonly LogState[], options: RecoverOptions = {}): Promise<RecoveryReport> {
  const report: RecoveryReport = { redone: 0, undone: 0, cleaned: 0 };
  for (const state of needsRedo(states)) {
    await redo(env, repo, state.plg!, dir);
    await removeBlobs(repo, state.plg!.obsolete);
    report.redone++;
  }
  let touched = false;
  for (const state of states) {
    const earlier = state.plg?.fenced;
    if (earlier !== undefined && state.records.length === 0) {
      // A fence alone: its transaction was undone; it goes once no process can still be waiting to commit.
      if (env.clock.now() - earlier > FENCE_KEEP_MS) await removePriorityLog(env, dir, state.tid);
      continue;
    }
    const fencing = options.fence === true && state.plg === undefined && !state.done;
    if (fencing && !(await writeFence(env, dir, state.tid))) continue; // committed meanwhile: the next scan redoes it
    // Clustered: another process may have finished this transaction between our scan and our
    // fence — redone it and removed its step log, then its priority log — so our scan read the
    // step log but no priority log. Undoing that stale view deletes committed blobs (found by the
    // clustered seed 1894572498: a node's new version removed right after a redo). A finisher
    // removes the step log first, so a step log still there once our fence holds the commit point
    // means nobody redid it; gone, and the fence alone remains (it ages out, FENCE_KEEP_MS).
    if (fencing && (await env.fs.stat(logPath(dir, state.tid))) === null) continue;
    const fenced = fencing || earlier !== undefined;
    touched = true;
    if (state.done) {
      const done = state.records.find((r) => r.type === 'done');
      await removeBlobs(repo, done?.type === 'done' ? done.obsolete : []);
      report.cleaned++;
    } else if (!state.plg || fenced) {
      const flippedIn = await flippedStore(repo, state);
      if (flippedIn !== null && state.plg === null) {
        throw corrupt(`priority log of transaction ${state.tid} is unreadable but its changes reached the registry of ${flippedIn}`);
      }
      if (flippedIn !== null) {
        // No priority log, yet the registry shows the flip: the commit finished and its
        // priority log was removed after "done", whose record is now unreadable. Undoing would
        // delete committed data; the old versions it would have freed are left (a leak, not a loss).
        report.cleaned++;
      } else {
        await undo(repo, state.records);
        report.undone++;
      }
    }
    // The step log goes first: a priority log left alone is redone again (harmless), while a
    // step log left without its priority log would read as "never committed" and be undone.
    await unlinkIfPresent(env, logPath(dir, state.tid));
    if (!fenced) await removePriorityLog(env, dir, state.tid);
  }
  if (touched) await env.fs.syncDir(dir);
  return report;
}

/**
 * Redo one committed transaction. Changes already on disk are skipped but still synced, and
 * the store info is rewritten even when it already shows this commit: what a crashed process
 * left may be in the page cache only (spec REC-2, REC-3). False when it stopped because the log
 * was no longer due (finished, or redone by a committer): nothing more of it was applied.
 */
export async function redo(env: Env, repo: StoreRepository, log: PriorityLog, dir: string, countsLocked = false): Promise<boolean> {
  const counted = log.stores.filter((c) => c.count >= 0).map((c) => c.name);
  // Clustered: counts move only under their store locks, compared with the info on disk (CLU-3).
  if (repo.storeLock && !countsLocked && counted.length > 0) return repo.storeLock(counted, () => redo(env, repo, log, dir, true));
  // A redo acts on the priority log it read, which may be stale: another process may have
  // finished this transaction (and removed the log), after which a later commit removed a node
  // this one added. Replaying the add then resurrects a handle nothing reaches (found by the
  // clustered seed 1981525731, STRUCT-2). Versions make stale updates and deletes no-ops, not a
  // stale add; so, with the registry sectors held (no commit can write them meanwhile), the
  // redo goes on only while the priority log is still there. Finishers remove it last (REC-2).
  // A committer that redid it leaves a mark (cluster-recovery.ts): after that, a later commit may
  // have removed what it added, so a second redo would resurrect it (seed 976556146, CLU-5).
  let due = true;
  const stillDue = async (): Promise<boolean> => (due = await redoStillDue(env, dir, log.tid));
  for (const commit of log.stores) {
    const store = await repo.get(commit.name);
    if (!store) continue; // removed since: nothing left to redo
    await store.registry.write(log.tid, commit.changes, 'redo', stillDue);
    if (!due) return false;
    await store.registry.sync();
    store.registry.republish(commit.changes.map((c) => c.id));
    if (repo.storeLock && commit.count >= 0) store.info = await repo.readInfo(store);
    if (commit.count >= 0 && log.seq >= store.info.commitSeq) {
      const info = { ...store.info, count: commit.count, commitSeq: log.seq, updatedAt: env.clock.now() };
      await repo.writeInfo(store, info);
      store.info = info;
    }
  }
  return true;
}

/**
 * The store whose registry refers to a blob this transaction prepared, if any: proof that its
 * flip began. A transaction without a readable priority log may be undone only if there is none:
 * an unreadable priority log with a begun flip is damage after the fact, and guessing would lose
 * or corrupt data (REC-4); a missing one with a begun flip lost its "done" record.
 */
async function flippedStore(repo: StoreRepository, state: LogState): Promise<string | null> {
  for (const record of state.records) {
    if (record.type !== 'prepare') continue;
    const prepared = new Set(record.blobs.map((b) => b.id));
    for (const name of new Set(record.blobs.map((b) => b.store))) {
      const store = await repo.get(name);
      if (!store) continue;
      for (const handle of store.registry.handles()) {
        if (prepared.has(handle.physicalA) || prepared.has(handle.physicalB)) return name;
      }
    }
  }
  return null;
}

async function undo(repo: StoreRepository, records: readonly StepRecord[]): Promise<void> {
  for (const record of records) {
    if (record.type === 'prepare') await removeBlobs(repo, record.blobs);
  }
  for (const record of records) {
    if (record.type !== 'createStore') continue;
    const store = await repo.get(record.name);
    if (store && isUnused(store)) await repo.remove(record.name);
    else if (!store) await repo.syncNames(); // gone, but maybe not durably: see syncNames
  }
}

/** A store nobody committed to: only its root, never counted (spec STORE-3). */
export function isUnused(store: Store): boolean {
  return store.info.commitSeq === 0 && store.info.count === 0 && store.registry.size <= 1;
}

async function removeBlobs(repo: StoreRepository, refs: readonly BlobRef[]): Promise<void> {
  const byStore = new Map<string, string[]>();
  for (const ref of refs) byStore.set(ref.store, [...(byStore.get(ref.store) ?? []), ref.id]);
  for (const [name, ids] of byStore) {
    const store = await repo.get(name);
    if (store) await store.blobs.removeAll(ids, true);
  }
}
