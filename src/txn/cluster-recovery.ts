import type { Env } from '../ports/env.js';
import type { Store } from '../store/store.js';
import type { StoreRepository } from '../store/store-repository.js';
import { readDurablyIfPresent } from '../util/durable-file.js';
import { plgPath } from '../util/paths.js';
import { type PriorityLog, markRedone, parsePriorityLog } from './logs.js';
import { READ_ATTEMPTS, redo } from './recovery.js';

/**
 * Recovery steps only clustered mode needs: other processes' priority logs are read while
 * those processes may still be running (spec CLU-1, CLU-3, CLU-5). Standalone recovery is in
 * ./recovery.ts.
 */

/** Transactions that have a priority log in `dir`, live or not (names only). */
export async function priorityLogTids(env: Env, dir: string): Promise<string[]> {
  return (await env.fs.readdir(dir)).filter((n) => /^[0-9a-f-]{36}\.plg$/.test(n)).map((n) => n.slice(0, 36));
}

/**
 * A transaction's priority log; null when it is gone (finished meanwhile) or torn (before its
 * commit point). A damaged parse is read again, as recovery does: one read spoiled in transit
 * (bit rot, not on the media) looked torn, so a committer skipped the redo of a dead
 * transaction's durable commit and validated against a registry without it — a lost update
 * (found by the clustered seed 976553090: a root update overwritten, count 16 but 5 items).
 */
async function readPriorityLog(env: Env, dir: string, tid: string, durable: boolean): Promise<PriorityLog | null> {
  for (let attempt = 1; ; attempt++) {
    const bytes = await readPlgBytes(env, plgPath(dir, tid), durable);
    if (!bytes) return null;
    const log = parsePriorityLog(bytes, `${tid}.plg`);
    if (log || attempt >= READ_ATTEMPTS) return log;
  }
}

async function readPlgBytes(env: Env, path: string, durable: boolean): Promise<Uint8Array | null> {
  try {
    return durable ? await readDurablyIfPresent(env, path) : await env.fs.readFile(path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Under the store's lock, before a commit takes its count from the info on disk: a priority
 * log of a dead transaction whose count never reached the info (its owner died between commit
 * point and store info) is redone first, or the next commit would reuse its sequence number
 * and lose its count (spec CLU-3, REC-3).
 */
export async function redoUnappliedCounts(env: Env, dir: string, repo: StoreRepository, store: Store, ownTid: string): Promise<void> {
  for (const tid of await priorityLogTids(env, dir)) {
    if (tid === ownTid) continue;
    const log = await readPriorityLog(env, dir, tid, true);
    const entry = log?.stores.find((c) => c.name === store.name && c.count >= 0);
    if (!log || !entry || log.seq <= store.info.commitSeq) continue;
    await redo(env, repo, log, dir, true);
  }
}

/**
 * With the committer's node locks held: a priority log whose transaction is no longer live
 * (its process died, or a Coordinator restart dropped its locks) may describe a commit that is
 * durable but unapplied, on nodes whose locks have since expired. It is redone before the
 * committer validates, or the committer would overwrite it and a later redo would apply only
 * part of it (spec CLU-5, ACID-1). The log is left for recovery to finish: finishing it here
 * (redo, then logs removed, as a take-over does) raced with its owner still finishing after a
 * Redis restart, whose step log the scan read without its `done` record, and undid a commit
 * (seed 692453988). It is marked redone instead (durably, before this commit goes on): left
 * unmarked, a later redo brought back nodes a later commit removed (seed 976556146, STRUCT-2).
 */
export async function redoDeadCommits(env: Env, dir: string, repo: StoreRepository, ownTid: string, isLive: (tid: string) => Promise<boolean>): Promise<number> {
  let redone = 0;
  for (const tid of await priorityLogTids(env, dir)) {
    if (tid === ownTid || (await isLive(tid))) continue;
    const log = await readPriorityLog(env, dir, tid, true);
    if (!log || log.fenced !== undefined) continue;
    if (!(await redo(env, repo, log, dir))) continue;
    await markRedone(env, dir, tid);
    redone++;
  }
  return redone;
}

/**
 * Every node id changed by a priority log whose transaction is not finished yet, with that transaction (its apply or
 * a redo may be under way). A reader that read one of them must not commit on a view it
 * reloaded meanwhile (spec CLU-1). Torn logs are skipped: their owner is before its commit
 * point and still holds its node locks.
 */
export async function pendingNodeIds(env: Env, dir: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const tid of await priorityLogTids(env, dir)) {
    const log = await readPriorityLog(env, dir, tid, false);
    for (const store of log?.stores ?? []) for (const change of store.changes) ids.set(change.id, tid);
  }
  return ids;
}
