import type { SopError } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import { type ReinstateProgress, type ReinstateReport, reinstate } from './reinstate.js';
import { type ReplicationEvent, ReplicatedFileSystem } from './replicated-fs.js';
import { DRIVE_FILES, type PassiveState, other } from './status.js';
import { resyncAfterOpen } from './resync.js';
import { compareTrees } from './tree-copy.js';

/** `DatabaseOptions.replication`. */
export interface ReplicationOptions {
  /** The passive drive's folder (absolute, or relative to the working directory); outside `folder`. */
  passive: string;
}

/** What `db.replicationStatus()` and `sop inspect` show. */
export interface ReplicationInfo {
  /** The folder every commit goes to now. */
  readonly active: string;
  /** The other folder and what it is worth. */
  readonly passive: string;
  readonly passiveState: PassiveState;
  readonly epoch: number;
  /** Why the status last changed. */
  readonly reason: string;
  readonly changedAt: number;
  readonly failedOver: boolean;
  readonly events: readonly ReplicationEvent[];
}

/** A database's replication (spec REPL-1..REPL-4): its status, reinstate and the replica comparison. */
export class Replication {
  constructor(readonly fs: ReplicatedFileSystem) {}

  info(): ReplicationInfo {
    const s = this.fs.status;
    return {
      active: this.fs.roots[s.active],
      passive: this.fs.roots[other(s.active)],
      passiveState: s.passive,
      epoch: s.epoch,
      reason: s.reason,
      changedAt: s.at,
      failedOver: s.active === 1,
      events: [...this.fs.events],
    };
  }

  /** Why changes are refused until a reopen (a failover that could not be recorded), or null. */
  get stopped(): SopError | null {
    return this.fs.stopped;
  }

  /** The reinstate running now, if any: calls queue behind it. */
  private reinstating: Promise<unknown> = Promise.resolve();

  /**
   * Brings the passive folder back into replication while the database runs (reinstate.ts).
   * One at a time: a second call waits for the first (then finds the drive in sync, or starts
   * over). Two running at once would each reset the other's record of changed paths, and the
   * first to finish would turn mirroring on over a copy that missed them (found by the
   * simulator: an operator's reinstate still running when the next one started).
   */
  reinstate(progress?: (p: ReinstateProgress) => void): Promise<ReinstateReport> {
    const run = this.reinstating.then(
      () => reinstate(this.fs, progress),
      () => reinstate(this.fs, progress),
    );
    this.reinstating = run.catch(() => undefined); // queues the next call; this call's caller gets the error
    return run;
  }

  /** A clean close: the next open needs no resync. */
  close(): Promise<void> {
    return this.fs.markClosed();
  }

  /** Every difference between the two folders (their status files aside): empty when identical. */
  compare(): Promise<string[]> {
    return compareTrees(this.fs.inner, this.fs.roots[0], this.fs.roots[1], DRIVE_FILES);
  }
}

/**
 * Wraps the env's FileSystem when `options.replication` is set: checks the folders, settles the
 * status from both drives, and seeds a passive drive that has never been copied (replication
 * turned on for an existing folder) before the engine touches anything.
 */
export async function openReplication(env: Env, folder: string, passive: string): Promise<{ env: Env; replication: Replication }> {
  const { fs, seed } = await ReplicatedFileSystem.open(env.fs, folder, passive, env.clock);
  const replication = new Replication(fs);
  if (seed) await replication.reinstate();
  else if (await fs.openMarker()) await resyncAfterOpen(fs); // the last run did not close cleanly
  await fs.markOpen();
  return { env: { ...env, fs }, replication };
}
