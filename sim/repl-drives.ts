import { isValidFrame } from '../src/replication/heal.js';
import { type Drive, type ReplicationStatus, STATUS_FILE, decodeStatus } from '../src/replication/status.js';
import { FolderDevice } from './folder-device.js';
import type { SimDisk } from './sim-disk.js';

/**
 * The simulator's view of a replicated run's two drives (spec REPL-1..REPL-5): drive 0 is the
 * database folder, drive 1 the passive folder, one FolderDevice each. Like EcDrives, an oracle
 * reads the replication statuses straight off the SimDisk (no faults, no scheduling) to keep the
 * nemesis within what two replicas survive:
 * - the ACTIVE drive may be lost only while the passive one is truly in sync: both drives hold
 *   the same status at the same epoch, it says 'in-sync', the passive drive has not been lost
 *   since that epoch (a wiped or offline passive the engine has not noticed yet is stale), and
 *   neither drive is offline now (that is a failover, which must lose nothing: REPL-2);
 * - the PASSIVE drive may be lost while the active one is up and holds no rotted file that only
 *   the passive copy could repair (REPL-5);
 * - never both at once.
 */
export class ReplDrives {
  readonly devices: readonly [FolderDevice, FolderDevice];
  /** The status epoch when the passive drive was last wiped or taken offline (0: never). */
  private passiveLostAt = 0;
  /** Files rotted on a drive (absolute paths) whose other copy is their only good one, until healed. */
  private readonly rotted = new Set<string>();
  /** Every file ever rotted at rest, healed or not (a journal leaf that could not be rebuilt must name one: run.ts). */
  readonly everRotted = new Set<string>();
  /**
   * A process is opening the folder after a crash: until its resync at open has made the passive
   * drive identical to the active one and durable, the passive copy may exist in the page cache
   * only (a sync the crash cut), so a power loss can still take it. Rotting the active copy in
   * that window is two faults: the nemesis holds rot and active-drive loss back (seed 1812001857).
   */
  opening = false;

  constructor(
    private readonly disk: SimDisk,
    readonly roots: readonly [string, string],
  ) {
    this.devices = [new FolderDevice(disk, roots[0]), new FolderDevice(disk, roots[1])];
  }

  /** Each drive's status as stored (null: none or unreadable). */
  statuses(): [ReplicationStatus | null, ReplicationStatus | null] {
    const read = (drive: Drive): ReplicationStatus | null => {
      const path = `${this.roots[drive]}/${STATUS_FILE}`;
      const bytes = this.disk.peekFile(path);
      if (!bytes) return null;
      try {
        return decodeStatus(bytes, path);
      } catch {
        return null;
      }
    };
    return [read(0), read(1)];
  }

  /** The status with the highest epoch on either drive (the truth at the next open, REPL-1). */
  truth(): ReplicationStatus | null {
    const [s0, s1] = this.statuses();
    if (!s0 || !s1) return s0 ?? s1;
    return s1.epoch > s0.epoch ? s1 : s0;
  }

  /** The drive the stored statuses name active (drive 0 before the first status). */
  activeDrive(): Drive {
    return this.truth()?.active ?? 0;
  }

  anyOffline(): boolean {
    return this.devices.some((d) => d.offline);
  }

  /** Budget: may the active drive fail now (a failover follows)? */
  canLoseActive(): boolean {
    const [s0, s1] = this.statuses();
    if (this.opening || !s0 || !s1 || s0.epoch !== s1.epoch || s0.active !== s1.active || s0.passive !== 'in-sync') return false;
    if (s0.epoch <= this.passiveLostAt || this.anyOffline()) return false;
    this.forgetHealed();
    return ![...this.rotted].some((path) => this.under(path, other(s0.active)));
  }

  /** Budget: may the passive drive fail now? */
  canLosePassive(): boolean {
    if (this.anyOffline()) return false;
    this.forgetHealed();
    const active = this.activeDrive();
    return ![...this.rotted].some((path) => this.under(path, active));
  }

  /** The passive drive was wiped or went offline: it is no full copy until a later status says in-sync. */
  passiveLost(): void {
    this.passiveLostAt = Math.max(this.passiveLostAt, this.truth()?.epoch ?? 0);
  }

  /**
   * Whole-file blobs on the active drive that REPL-5 could heal: a valid frame on both drives,
   * byte for byte the same, while both drives say in sync and neither is offline. Empty otherwise.
   */
  rotCandidates(): string[] {
    if (!this.canLoseActive() || this.passiveAtRisk()) return [];
    const active = this.activeDrive();
    const device = this.devices[active];
    return device.files().filter((path) => {
      if (!/\/blobs\/[^/]+\/[^/]+$/.test(path)) return false;
      const mine = this.disk.peekFile(path);
      const theirs = this.disk.peekFile(this.roots[other(active)] + path.slice(device.prefix.length));
      return mine !== null && theirs !== null && isValidFrame(mine) && equal(mine, theirs);
    });
  }

  /**
   * Whole-disk faults that can make a passive write fail (it then leaves replication) are on.
   * A rotted blob's only good copy is on the passive drive until a read heals it: losing the
   * passive meanwhile is two faults (the nemesis holds such faults back while rot is unhealed).
   */
  passiveAtRisk(): boolean {
    const f = this.disk.faults;
    return f.offline === true || (f.eioWrite ?? 0) > 0 || (f.eioSync ?? 0) > 0 || f.enospc === true;
  }

  /** Rotted blobs whose only good copy is on the other drive. */
  hasUnhealedRot(): boolean {
    this.forgetHealed();
    return this.rotted.size > 0;
  }

  /** Flips bits of a whole-file blob on the active drive (rot at rest; the passive copy stays good). */
  rot(path: string, count: number): boolean {
    const done = this.devices[this.activeDrive()].rot(path, count);
    if (done) this.rotted.add(path);
    if (done) this.everRotted.add(path);
    return done;
  }

  /**
   * Files rotted at rest that no read has healed yet, relative to their drive folder, with
   * whether the other drive's copy is a valid frame (the next whole-file read heals them, REPL-5).
   */
  unhealedRot(): Map<string, boolean> {
    this.forgetHealed();
    const out = new Map<string, boolean>();
    for (const path of this.rotted) {
      const drive: Drive = this.under(path, 0) ? 0 : 1;
      const relative = path.slice(this.roots[drive].length + 1);
      const good = this.disk.peekFile(`${this.roots[other(drive)]}/${relative}`);
      out.set(relative, good !== null && isValidFrame(good));
    }
    return out;
  }

  /** Rotted files that are valid again (healed from the replica or rewritten) or gone. */
  private forgetHealed(): void {
    for (const path of this.rotted) {
      const bytes = this.disk.peekFile(path);
      if (bytes === null || isValidFrame(bytes)) this.rotted.delete(path);
    }
  }

  private under(path: string, drive: Drive): boolean {
    return path.startsWith(`${this.roots[drive]}/`);
  }
}

function other(drive: Drive): Drive {
  return drive === 0 ? 1 : 0;
}

function equal(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
