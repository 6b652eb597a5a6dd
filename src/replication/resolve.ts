import { SopError } from '../errors/sop-error.js';
import type { FileSystem } from '../ports/file-system.js';
import { joinPath } from '../util/paths.js';
import { type DriveReading, type ReplicationStatus, other, readStatus } from './status.js';

/** What opening found: the status to run with, and whether it must be written (it changed). */
export interface Resolved {
  readonly status: ReplicationStatus;
  readonly changed: boolean;
  /** No status anywhere and data in the folder: the passive drive must be seeded by a full copy. */
  readonly seed: boolean;
}

/**
 * Picks the truth from the two drives' statuses at open (spec REPL-1): the highest epoch wins,
 * because every change is written to the active drive first. A drive without a status is new
 * or replaced; it is never trusted as a copy. Refuses to guess when the drive the statuses name
 * as active has none: opening the other one could serve a stale copy (lost commits).
 */
export async function resolveStatus(fs: FileSystem, roots: readonly [string, string], now: number): Promise<Resolved> {
  const readings: [DriveReading, DriveReading] = [await readStatus(fs, roots[0]), await readStatus(fs, roots[1])];
  const [s0, s1] = [readings[0].status, readings[1].status];
  if (!s0 && !s1) return fresh(fs, roots, readings, now);
  refuseUnreadable(roots, readings);
  const best = !s0 ? s1! : !s1 ? s0 : s1.epoch > s0.epoch ? s1 : s0;
  if (s0 && s1 && s0.epoch === s1.epoch && (s0.active !== s1.active || s0.passive !== s1.passive)) {
    throw new SopError('CORRUPT', `replication statuses disagree at epoch ${s0.epoch}: ${roots[0]} and ${roots[1]} were not written together`);
  }
  if (best.drives[0] !== roots[0] || best.drives[1] !== roots[1]) {
    throw new SopError(
      'INVALID_ARGUMENT',
      `replication drives are [${roots.join(', ')}] but the status was written for [${best.drives.join(', ')}]: folder must stay drive 0 and replication.passive drive 1`,
    );
  }
  const activeStatus = readings[best.active].status;
  if (!activeStatus) {
    const problem = problemOf(readings[best.active]);
    throw new SopError(
      'UNAVAILABLE',
      `the active replica ${roots[best.active]} has no readable replication status (${problem ?? 'missing'}): it holds the newest commits; restore it before opening`,
    );
  }
  const passive = other(best.active);
  if (best.passive === 'in-sync' && readings[passive].status?.epoch !== best.epoch) {
    // The passive drive was replaced while the database was closed, or it lost its status. A
    // replaced drive is empty; one that holds a database may be the newer copy (it may have
    // taken over after this status was written): refuse to guess.
    if (!readings[passive].status && (await fs.stat(joinPath(roots[passive], 'sop.db')))) {
      throw new SopError(
        'UNAVAILABLE',
        `${roots[passive]} holds a database but no replication status (${problemOf(readings[passive]) ?? 'missing'}); ${roots[best.active]} says it is active at epoch ${best.epoch}. Which copy is newer cannot be told: restore the status file, or empty ${roots[passive]} to reinstate it from ${roots[best.active]}`,
      );
    }
    const reason = `passive ${roots[passive]} has no matching status (replaced?): reinstate it`;
    return { status: { ...best, epoch: best.epoch + 1, passive: 'failed', reason, at: now }, changed: true, seed: false };
  }
  // The newest status reached the passive drive only (a reinstate records 'in-sync' there first,
  // and the active drive failed to take it): it is written to the active drive now, so the drives
  // agree again (REPL-1; found by the simulator, seed 910313, where they never did).
  return { status: best, changed: activeStatus.epoch !== best.epoch, seed: false };
}

/**
 * A status file that exists but cannot be read may hold the highest epoch: the drive it is on
 * may have taken over after the other drive's status was written. The readable status is
 * trusted alone only when it names its own drive active and the unreadable one out of
 * replication: the other drive can then only have newer statuses through a reinstate, which
 * writes the active drive first (REPL-1). Anything else is refused rather than guessed.
 */
function refuseUnreadable(roots: readonly [string, string], readings: readonly [DriveReading, DriveReading]): void {
  for (const drive of [0, 1] as const) {
    const problem = problemOf(readings[drive]);
    if (problem === null) continue;
    const theirs = readings[other(drive)].status;
    if (theirs && theirs.active === other(drive) && theirs.passive !== 'in-sync') continue;
    // What to do depends on the role the readable status gives the unreadable drive.
    const advice =
      theirs && theirs.active === drive
        ? `it is the active drive and holds the newest commits: make it readable again (the other drive's copy may be older)`
        : `it may have taken over with newer commits: retry; if it is dead for good, replace it with an empty folder (${roots[other(drive)]} then opens and reinstates it)`;
    throw new SopError('UNAVAILABLE', `the replication status on ${roots[drive]} cannot be read (${problem}): ${advice}`);
  }
}

async function fresh(fs: FileSystem, roots: readonly [string, string], readings: [DriveReading, DriveReading], now: number): Promise<Resolved> {
  for (const drive of [0, 1] as const) {
    const problem = problemOf(readings[drive]);
    if (problem) throw new SopError('UNAVAILABLE', `${roots[drive]}: replication status unreadable: ${problem}`);
  }
  const hasData = (await fs.stat(joinPath(roots[0], 'sop.db'))) !== null;
  const passiveUsed = (await fs.stat(joinPath(roots[1], 'sop.db'))) !== null;
  if (!hasData && passiveUsed) {
    throw new SopError('INVALID_ARGUMENT', `${roots[1]} holds a database but ${roots[0]} does not: drive 0 must be the original folder`);
  }
  // A passive drive with leftovers (an old copy, stray files) is never assumed equal: seed it.
  const seed = hasData || !(await isEmpty(fs, roots[1]));
  const status: ReplicationStatus = {
    format: 1,
    epoch: 1,
    active: 0,
    passive: seed ? 'failed' : 'in-sync',
    reason: seed ? 'replication enabled on an existing folder: seeding the passive drive' : 'new replicated database',
    at: now,
    drives: [roots[0], roots[1]],
  };
  return { status, changed: true, seed };
}

async function isEmpty(fs: FileSystem, root: string): Promise<boolean> {
  try {
    return (await fs.readdir(root)).length === 0;
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return true;
    throw error;
  }
}

function problemOf(reading: DriveReading): string | null {
  return reading.status ? null : reading.problem;
}
