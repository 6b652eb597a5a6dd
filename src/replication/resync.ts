import { parallel } from '../blobs/blob-store.js';
import { joinPath } from '../util/paths.js';
import { isValidFrame } from './heal.js';
import { type Counters, copyPath } from './reinstate.js';
import type { ReplicatedFileSystem } from './replicated-fs.js';
import { DRIVE_FILES, type Drive, other, readStatus } from './status.js';
import { copyBytesDurably, diffTrees, readStable, type TreeDiff } from './tree-copy.js';

/**
 * At open, before the engine reads anything: makes an in-sync passive drive byte-identical to
 * the active one again (spec REPL-3). Both drives get every change, but a power loss resolves
 * what was not yet synced on each drive on its own: a write torn on one and whole on the other,
 * a directory entry that reached one drive's durable state and not the other's. Recovery then
 * reads the active drive only, so such a difference would outlive it, and a later failover
 * would run on a copy that is not what the engine saw (found by the simulator: a crash left a
 * transaction log and a store's `.creating-` folder on the passive drive only). The passive
 * copy of each differing path is replaced by the active one's, as reinstate's delta copies do.
 * One exception (REPL-5): a file that is a valid block on the passive drive and not on the
 * active one is damage at rest on the active drive; the good copy is written back over it.
 * It runs only when the last run did not close cleanly (the open marker, status.ts): after a
 * crash the price is a read of both folders (a write-intent record of the paths in flight
 * would narrow it: not built yet). A failure on the passive drive takes it out of replication (reinstate brings it
 * back); one on the active drive fails the open.
 */
export async function resyncAfterOpen(fs: ReplicatedFileSystem): Promise<number> {
  if (fs.status.passive !== 'in-sync') return 0;
  const active = fs.status.active;
  const passive = other(active);
  const counters = { copied: 0, deltas: 0, bytes: 0 };
  try {
    const diff = await diffTrees(fs.inner, fs.roots[active], fs.roots[passive], DRIVE_FILES);
    for (const { path, message } of diff.differences) {
      const logical = joinPath(fs.logicalRoot, path);
      if (message === 'contents differ') await resyncFile(fs, logical, active, passive, counters);
      else await copyPath(fs, logical, active, passive, counters);
      counters.deltas++;
    }
    await makeDurable(fs, fs.roots[passive], diff);
    await assertStillTheCopy(fs, passive);
  } catch (error) {
    // Only an error of the passive drive takes it out of replication. One of the active drive
    // (a read failing, found by the simulator: a transient EIO there once cost the passive its
    // place, and with it the good copies REPL-5 needed) fails the open, which can be retried.
    if (!onDrive(error, fs.roots[passive])) throw error;
    await fs.passiveFailed(passive, error);
    return counters.deltas;
  }
  if (counters.deltas > 0) fs.record('healed', `resync at open: ${counters.deltas} paths of ${fs.roots[passive]} differed from ${fs.roots[active]} (unsynced writes resolved apart by a power loss)`);
  return counters.deltas;
}

/** One file whose bytes differ: the active copy wins, unless it is a damaged block and the passive one a valid block. */
async function resyncFile(fs: ReplicatedFileSystem, logical: string, active: Drive, passive: Drive, counters: Counters): Promise<void> {
  const [mine, theirs] = [await readStable(fs.inner, fs.map(logical, active)!), await readStable(fs.inner, fs.map(logical, passive)!)];
  if (!isValidFrame(mine) && isValidFrame(theirs)) {
    await copyBytesDurably(fs.inner, fs.map(logical, active)!, theirs);
    fs.record('healed', `${logical}: damaged on ${fs.roots[active]}, restored from ${fs.roots[passive]} at open`);
  } else {
    await copyBytesDurably(fs.inner, fs.map(logical, passive)!, mine);
  }
  counters.bytes += mine.length;
}

/** Whether an I/O error names a path on the drive at `root` (node:fs and the simulator set `path`). */
function onDrive(error: unknown, root: string): boolean {
  const e = error as { path?: unknown; message?: unknown } | null;
  const where = typeof e?.path === 'string' ? e.path : typeof e?.message === 'string' ? e.message : '';
  return where.includes(`${root}/`) || where.endsWith(root) || where.includes(`'${root}'`);
}

/**
 * The passive drive still holds this epoch's status after the copy. A drive replaced by an
 * empty one while the resync ran had its folders made again by the copy, but not its status
 * (a drive file, never copied): it went on as 'in sync' with no status, and the next open could
 * not have told which copy was newer (REPL-1; found by the simulator, seed 1812003863). Such a
 * drive leaves replication here, and reinstate brings it back whole.
 */
async function assertStillTheCopy(fs: ReplicatedFileSystem, passive: Drive): Promise<void> {
  const root = fs.roots[passive];
  const reading = await readStatus(fs.inner, root);
  if (reading.status?.epoch === fs.status.epoch) return;
  const what = reading.status ? `epoch ${reading.status.epoch}, not ${fs.status.epoch}` : (reading.problem ?? 'missing');
  throw Object.assign(new Error(`${root}/ lost its replication status while it was resynced (${what}): replaced?`), { path: `${root}/` });
}

/**
 * Syncs every file and folder of the passive drive. After an unclean stop the passive copy may
 * equal the active one only in the page cache: a change the last run wrote to both drives but
 * synced on the active one alone (its passive half was cut by the process's death, or dropped
 * as the passive left replication in memory, unrecorded) compares equal, and a later power loss
 * took it from the passive drive only. The active drive then held the only copy of a blob, and
 * rot at rest lost it (found by the simulator, seed 1812001857: a blob's folder entry on the
 * passive drive stayed unsynced across process restarts for 2,800 ms of simulated time).
 * What differed was copied durably already; what the trees share comes from the comparison's
 * own walk: the files that compared equal, and every shared folder, deepest first.
 */
async function makeDurable(fs: ReplicatedFileSystem, root: string, diff: TreeDiff): Promise<void> {
  await parallel(diff.equalFiles, SYNC_PARALLELISM, async (path) => {
    const file = await fs.inner.open(joinPath(root, path), 'readWrite');
    try {
      await file.datasync();
    } finally {
      await file.close();
    }
  });
  const deepestFirst = [...diff.sharedFolders].reverse(); // listed parents first, so reversed every folder follows its subfolders
  await parallel(deepestFirst, SYNC_PARALLELISM, (dir) => fs.inner.syncDir(dir === '' ? root : joinPath(root, dir)));
}

/** Syncs in flight at once while the passive drive is made durable (they share journal commits). */
const SYNC_PARALLELISM = 64;
