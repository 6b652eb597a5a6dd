import { SopError } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import type { FileLock } from '../ports/file-system.js';
import { LOCK_FILE, ensureDurableDir, joinPath } from '../util/paths.js';


/**
 * A database owns its folders (spec STORE-5): a standalone database holds an exclusive lock on
 * the data folder and on every replication or erasure-coding drive it writes, so a second
 * process (or a second open in this one) is refused with a SopError naming the holder instead
 * of silently writing the same files. Clustered processes hold the same locks shared: they
 * exclude a standalone opener, not each other. The locks are the kernel's (flock), so a crashed
 * holder leaves none behind.
 */
export async function lockFolders(env: Env, folders: readonly string[], clustered: boolean, now: number, redundant: boolean): Promise<FileLock[]> {
  const mode = clustered ? 'shared' : 'exclusive';
  const owner = `${env.process ?? 'a sop-ts process'} (${clustered ? 'clustered' : 'standalone'}, since ${new Date(now).toISOString()})`;
  const held: FileLock[] = [];
  try {
    for (const folder of folders) {
      let got: FileLock | { heldBy: string };
      try {
        await ensureDurableDir(env.fs, folder);
        got = await env.fs.lock(joinPath(folder, LOCK_FILE), mode, owner);
      } catch (error) {
        // With redundancy (replication, erasure coding) a drive that fails is the redundancy's
        // to handle: it cannot be locked, and nothing will be written to it while it fails.
        if (redundant && !SopError.is(error)) continue;
        throw error;
      }
      if ('heldBy' in got) throw refused(folder, got.heldBy, clustered);
      held.push(got);
    }
  } catch (error) {
    await releaseAll(held);
    throw error;
  }
  return held;
}

export async function releaseAll(locks: readonly FileLock[]): Promise<void> {
  for (const lock of locks) await lock.release().catch(() => undefined); // the process's end releases it anyway
}

function refused(folder: string, heldBy: string, clustered: boolean): SopError {
  const holder = heldBy.length > 0 ? heldBy : clustered ? 'no owner recorded' : 'clustered processes, or an owner not recorded';
  const why = clustered ? 'a standalone database holds it' : 'another database holds it';
  return new SopError('UNAVAILABLE', `${folder} is in use: ${why} (${holder}); close it first, or open every process in clustered mode`);
}
