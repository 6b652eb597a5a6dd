import type { Database } from '../../src/database/database.js';
import { SopError } from '../../src/errors/sop-error.js';
import type { History } from '../history.js';
import type { ReplDrives } from '../repl-drives.js';

/** A replicated run's drives, as the checker reads them (after healing and the final reinstate). */
export interface ReplicationView {
  readonly drives: ReplDrives;
}

/**
 * Active/passive replication under drive faults (spec REPL-1..REPL-5). The nemesis took the
 * active or the passive drive offline or replaced it by an empty one (the active one only while
 * the passive was in sync: a failover), rotted whole-file blobs on the active drive while in
 * sync, and an operator reinstated the failed drive; once faults healed the run reinstated once
 * more. That no acknowledged commit was lost across failovers (REPL-2) and that no read returned
 * wrong bytes (REPL-5) is judged by the durability, bank, stores and integrity checkers, which
 * keep running on replicated seeds; this one judges replication itself:
 * - REPL-1: the status epoch never went backwards, from one observation to the next, across
 *   failovers, crashes and reopens; at the end both drives hold the same status (same epoch).
 * - REPL-3: the reinstate after healing succeeded, the passive drive is 'in-sync', and
 *   `db.compareReplicas()` finds the two folders byte-identical.
 */
export async function checkReplication(history: History, db: Database, view: ReplicationView): Promise<string[]> {
  const problems: string[] = [];
  const observed = history.repl.observed;
  for (let i = 1; i < observed.length; i++) {
    const [before, after] = [observed[i - 1]!, observed[i]!];
    if (after.epoch < before.epoch) {
      const how = after.incarnation === before.incarnation ? 'within one process' : 'across a reopen';
      problems.push(`REPL-1: the status epoch went backwards ${how}: ${before.epoch} (active ${before.active}, t=${before.at.toFixed(1)}) then ${after.epoch} (active ${after.active}, t=${after.at.toFixed(1)})`);
      break;
    }
  }
  if (history.repl.reinstateError !== null) problems.push(`REPL-3: reinstate after healing failed: ${history.repl.reinstateError}`);
  const info = db.replicationStatus();
  if (!info) return [...problems, 'REPL-1: a replicated database reports no replication status'];
  if (info.passiveState !== 'in-sync') problems.push(`REPL-3: the passive drive ${info.passive} is '${info.passiveState}' at the end, not in sync (${info.reason})`);
  const [s0, s1] = view.drives.statuses();
  if (!s0 || !s1) problems.push(`REPL-1: drive ${!s0 ? 0 : 1} holds no readable replication status at the end`);
  else if (s0.epoch !== s1.epoch || s0.active !== s1.active || s0.passive !== s1.passive) {
    problems.push(`REPL-1: the drives' statuses differ at the end: epoch ${s0.epoch} ${s0.passive} vs epoch ${s1.epoch} ${s1.passive}`);
  } else if (s0.epoch !== info.epoch) problems.push(`REPL-1: the drives hold epoch ${s0.epoch}, the database runs with ${info.epoch}`);
  if (info.passiveState === 'in-sync') {
    try {
      // Rot at rest on one drive is healed by the first whole-file read (REPL-5); a rotted blob
      // nobody read since differs, as long as the other copy is good. Anything else is a divergence.
      const rot = view.drives.unhealedRot();
      const differences = (await db.compareReplicas()).filter((d) => {
        const path = d.slice(0, d.lastIndexOf(': '));
        if (!rot.has(path) || !d.endsWith('contents differ')) return true;
        if (!rot.get(path)) problems.push(`REPL-5: ${path} rotted on one drive and the other copy is no valid block`);
        return false;
      });
      if (differences.length > 0) {
        problems.push(`REPL-3: the replicas differ after the final reinstate (${differences.length} paths): ${differences.slice(0, 5).join('; ')}`);
      }
    } catch (error) {
      problems.push(`REPL-3: compareReplicas failed: ${SopError.is(error) ? error.message : String(error)}`);
    }
  }
  return problems;
}
