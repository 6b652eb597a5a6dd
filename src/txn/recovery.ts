import type { Env } from '../ports/env.js';
import type { Store } from '../store/store.js';
import type { StoreRepository } from '../store/store-repository.js';
import { joinPath } from '../util/paths.js';
import { type BlobRef, type PriorityLog, type StepRecord, logPath, parsePriorityLog, parseStepLog, plgPath, unlinkIfPresent } from './logs.js';

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

/** Reads every log of transactions not in `live`. */
export async function scanLogs(env: Env, dir: string, live: ReadonlySet<string>): Promise<LogState[]> {
  const byTid = new Map<string, { log?: Uint8Array; plg?: Uint8Array }>();
  for (const name of await env.fs.readdir(dir)) {
    const match = /^([0-9a-f-]{36})\.(log|plg)$/.exec(name);
    if (!match || live.has(match[1]!)) continue;
    const entry = byTid.get(match[1]!) ?? {};
    entry[match[2] as 'log' | 'plg'] = await env.fs.readFile(joinPath(dir, name));
    byTid.set(match[1]!, entry);
  }
  return [...byTid].map(([tid, files]) => {
    const records = files.log ? parseStepLog(files.log, `${tid}.log`) : [];
    return {
      tid,
      records,
      done: records.some((r) => r.type === 'done'),
      plg: files.plg === undefined ? undefined : parsePriorityLog(files.plg, `${tid}.plg`),
    };
  });
}

/** Transactions past their commit point whose registry flip may be incomplete (spec REC-2). */
export function needsRedo(states: readonly LogState[]): LogState[] {
  return states.filter((s) => s.plg && !s.done).sort((a, b) => a.plg!.seq - b.plg!.seq);
}

/**
 * Brings every dead transaction to an end (spec REC-1..REC-4): redo the committed ones from
 * their priority logs in commit order, finish the cleanup of the done ones, undo the rest.
 * Idempotent: a crash during recovery is recovered by the next run.
 */
export async function recover(env: Env, dir: string, repo: StoreRepository, states: readonly LogState[]): Promise<RecoveryReport> {
  const report: RecoveryReport = { redone: 0, undone: 0, cleaned: 0 };
  for (const state of needsRedo(states)) {
    await redo(env, repo, state.plg!);
    await removeBlobs(repo, state.plg!.obsolete);
    report.redone++;
  }
  for (const state of states) {
    if (state.done) {
      const done = state.records.find((r) => r.type === 'done');
      await removeBlobs(repo, done?.type === 'done' ? done.obsolete : []);
      report.cleaned++;
    } else if (!state.plg) {
      await undo(repo, state.records);
      report.undone++;
    }
    await unlinkIfPresent(env, plgPath(dir, state.tid));
    await unlinkIfPresent(env, logPath(dir, state.tid));
  }
  if (states.length > 0) await env.fs.syncDir(dir);
  return report;
}

async function redo(env: Env, repo: StoreRepository, log: PriorityLog): Promise<void> {
  for (const commit of log.stores) {
    const store = await repo.get(commit.name);
    if (!store) continue; // removed since: nothing left to redo
    const applied = await store.registry.write(log.tid, commit.changes, 'redo');
    store.registry.publish(applied);
    if (commit.count >= 0 && log.seq > store.info.commitSeq) {
      const info = { ...store.info, count: commit.count, commitSeq: log.seq, updatedAt: env.clock.now() };
      await repo.writeInfo(store, info);
      store.info = info;
    }
  }
}

async function undo(repo: StoreRepository, records: readonly StepRecord[]): Promise<void> {
  for (const record of records) {
    if (record.type === 'prepare') await removeBlobs(repo, record.blobs);
  }
  for (const record of records) {
    if (record.type !== 'createStore') continue;
    const store = await repo.get(record.name);
    if (store && isUnused(store)) await repo.remove(record.name);
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
