import { SopError } from '../errors/sop-error.js';
import type { Clock } from '../ports/clock.js';
import type { FileHandle, FileLock, FileStat, FileSystem, LockRefused, OpenMode } from '../ports/file-system.js';
import { writeSynced } from '../util/durable-file.js';
import { ensureDurableDir, joinPath } from '../util/paths.js';
import { Gate } from './gate.js';
import { isValidFrame } from './heal.js';
import { isFailoverQualified } from './qualify.js';
import { ReplicatedHandle } from './replicated-handle.js';
import { resolveStatus } from './resolve.js';
import { type Drive, OPEN_MARKER, type ReplicationStatus, other, writeStatus } from './status.js';
import { copyBytesDurably } from './tree-copy.js';

/** A change of the replication status, kept for `sop inspect` and tests. */
export interface ReplicationEvent {
  readonly epoch: number;
  readonly kind: 'failover' | 'passive-failed' | 'reinstate-started' | 'reinstated' | 'opened' | 'healed' | 'stopped';
  readonly reason: string;
  readonly at: number;
}

/**
 * Active/passive replication of a database folder (spec REPL-1..REPL-4) as a decorator over the
 * FileSystem port: the engine keeps using paths under `folder`; this maps them to the active
 * drive, and mirrors every change to the passive drive while it is in sync, in the same call
 * (both sides settle before the engine continues). So the passive drive holds, at every moment,
 * exactly the acknowledged state of the active one, and a failover is a switch of roots:
 *
 * - an error that qualifies (qualify.ts) on the active drive while the passive is in sync makes
 *   the passive active, durably (status epoch + 1 written to it first), and the call's result is
 *   the passive's: the engine does not even see the failure;
 * - any error on the passive drive, or a passive that disagrees, takes it out of replication
 *   (status written to the active drive before the call returns);
 * - other errors on the active drive reach the engine, which rolls the transaction back.
 *
 * Paths outside `folder` (its parents, erasure-coded blob drives) pass through unmirrored.
 */
export class ReplicatedFileSystem implements FileSystem {
  /** Logical paths changed while a reinstate copies (null otherwise): the copier's deltas. */
  dirty: Set<string> | null = null;
  readonly handles = new Set<ReplicatedHandle>();
  readonly events: ReplicationEvent[] = [];
  readonly gate = new Gate();
  private statusChange: Promise<unknown> = Promise.resolve();
  /**
   * Highest epoch a status write was attempted for. A write that failed may still have reached
   * its drive (renamed into place, its folder sync failed), so no later status may reuse that
   * epoch: two different statuses of one epoch cannot be ordered at open (REPL-1; found by the
   * simulator, seed 910094).
   */
  private attempted = 0;
  /**
   * Set when a failover could not be recorded: the drives may disagree on which is active, so
   * nothing more may be acknowledged until a reopen settles it from the statuses on disk
   * (REPL-1). Every mirrored change fails with this error meanwhile.
   */
  private stopped_: SopError | null = null;

  private constructor(
    readonly inner: FileSystem,
    readonly roots: readonly [string, string],
    private readonly clock: Clock,
    private status_: ReplicationStatus,
  ) {}

  /** Reads both drives' statuses, settles the truth (resolve.ts) and records it. `seed`: the passive needs a first copy. */
  static async open(inner: FileSystem, folder: string, passive: string, clock: Clock): Promise<{ fs: ReplicatedFileSystem; seed: boolean }> {
    const roots = [folder, passive] as const;
    const unprepared = [0, 1].map(() => null as unknown) as [unknown, unknown];
    for (const drive of [0, 1] as const) await ensureDurableDir(inner, roots[drive]).catch((error) => (unprepared[drive] = error ?? 'error'));
    const resolved = await resolveStatus(inner, roots, clock.now());
    let status = resolved.status;
    const active = status.active;
    if (unprepared[active] !== null) failedRoot(roots[active], unprepared[active]);
    if (unprepared[other(active)] !== null && status.passive !== 'failed') {
      status = { ...status, epoch: status.epoch + 1, passive: 'failed', reason: `passive ${roots[other(active)]} unusable at open: ${describe(unprepared[other(active)])}` };
    }
    const fs = new ReplicatedFileSystem(inner, roots, clock, status);
    if (resolved.changed || status !== resolved.status) await fs.persist(status, status.passive === 'in-sync' ? [0, 1] : [active]);
    fs.record('opened', status.reason);
    return { fs, seed: resolved.seed };
  }

  get status(): ReplicationStatus {
    return this.status_;
  }

  /** Why this file system refuses changes until a reopen (a failover that could not be recorded), or null. */
  get stopped(): SopError | null {
    return this.stopped_;
  }

  get logicalRoot(): string {
    return this.roots[0];
  }

  /** `path` on `drive`, or null when it lies outside the replicated folder. */
  map(path: string, drive: Drive): string | null {
    const root = this.roots[0];
    if (path === root) return this.roots[drive];
    if (!path.startsWith(`${root}/`)) return null;
    return drive === 0 ? path : this.roots[1] + path.slice(root.length);
  }

  // ---- the FileSystem port ------------------------------------------------------------------

  /** Locks are per drive: the database takes them on each drive's own folder, unmapped (not mirrored). */
  lock(path: string, mode: 'exclusive' | 'shared', owner: string): Promise<FileLock | LockRefused> {
    return this.inner.lock(path, mode, owner);
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    if (!this.inside(path)) return this.inner.open(path, mode);
    if (mode === 'read') {
      let used: Drive = this.status_.active;
      const file = await this.onActive((d) => ((used = d), this.inner.open(this.map(path, d)!, 'read')));
      return this.track(new ReplicatedHandle(this, path, false, used === 0 ? [file, null] : [null, file]));
    }
    const { perDrive } = await this.onBoth([path], (d) => this.inner.open(this.map(path, d)!, mode));
    return this.track(new ReplicatedHandle(this, path, true, perDrive));
  }

  async readFile(path: string): Promise<Uint8Array> {
    if (!this.inside(path)) return this.inner.readFile(path);
    const bytes = await this.onActive((d) => this.inner.readFile(this.map(path, d)!));
    if (this.status_.passive !== 'in-sync' || isValidFrame(bytes)) return bytes;
    return this.healFromReplica(path, bytes);
  }

  /**
   * A whole-file read that is not a valid frame on the active drive: if the passive copy is
   * one, it is the truth (both drives got the same writes); it is returned and written back
   * over the active copy. Otherwise the bad bytes go to the caller, whose decode reports CORRUPT.
   *
   * A rewrite that fails fails over to the passive drive, which holds the good copy (REPL-3,
   * REPL-5). The rewrite truncates first, so a failed one can leave the active copy worse than
   * the damage it was repairing (empty, or part written), with both drives still called in sync;
   * a file read only at open (sop.db) then stayed different for the rest of the run (found by
   * the simulator, seed 1431792831: ENOSPC cut the rewrite of a rotted sop.db).
   */
  private async healFromReplica(path: string, bad: Uint8Array): Promise<Uint8Array> {
    const active = this.status_.active;
    let good: Uint8Array;
    try {
      good = await this.inner.readFile(this.map(path, other(active))!);
    } catch {
      return bad; // no good copy to heal from: the caller's decode reports the damage as CORRUPT
    }
    if (!isValidFrame(good)) return bad;
    await this.gate
      .shared(async () => {
        if (this.status_.active !== active || this.status_.passive !== 'in-sync') return;
        await copyBytesDurably(this.inner, this.map(path, active)!, good).catch((error) => this.failover(active, new Error(`rewriting damaged ${path}: ${describe(error)}`)));
      })
      .catch(() => undefined); // the read has its good bytes; a failover that could not be recorded has stopped this file system (failover())
    this.record('healed', `${path}: damaged on ${this.roots[active]}, restored from ${this.roots[other(active)]}`);
    return good;
  }

  readdir(path: string): Promise<string[]> {
    if (!this.inside(path)) return this.inner.readdir(path);
    return this.onActive((d) => this.inner.readdir(this.map(path, d)!));
  }

  stat(path: string): Promise<FileStat | null> {
    if (!this.inside(path)) return this.inner.stat(path);
    return this.onActive((d) => this.inner.stat(this.map(path, d)!));
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    if (!this.inside(path)) return this.inner.writeFile(path, data);
    await this.onBoth([path], (d) => this.inner.writeFile(this.map(path, d)!, data));
  }

  async rename(from: string, to: string): Promise<void> {
    const inside = this.inside(from);
    if (inside !== this.inside(to)) throw new SopError('INVALID_ARGUMENT', `rename across the replicated folder: ${from} -> ${to}`);
    if (!inside) return this.inner.rename(from, to);
    await this.onBoth([from, to], (d) => this.inner.rename(this.map(from, d)!, this.map(to, d)!));
  }

  async link(existing: string, to: string): Promise<void> {
    const inside = this.inside(existing);
    if (inside !== this.inside(to)) throw new SopError('INVALID_ARGUMENT', `link across the replicated folder: ${existing} -> ${to}`);
    if (!inside) return this.inner.link(existing, to);
    await this.onBoth([existing, to], (d) => this.inner.link(this.map(existing, d)!, this.map(to, d)!));
  }

  /**
   * A file missing on one drive and unlinked on the other ends the same (absent): concurrent
   * removals of one file may interleave differently per drive, which is not a divergence.
   */
  async unlink(path: string): Promise<void> {
    if (!this.inside(path)) return this.inner.unlink(path);
    const { value: existed } = await this.onBoth([path], (d) =>
      this.inner.unlink(this.map(path, d)!).then(
        () => true,
        (error: { code?: string }) => {
          if (error?.code === 'ENOENT') return false;
          throw error;
        },
      ),
    );
    if (!existed) throw Object.assign(new Error(`ENOENT: no such file, unlink '${path}'`), { code: 'ENOENT' });
  }

  async mkdir(path: string): Promise<void> {
    if (!this.inside(path)) return this.inner.mkdir(path);
    await this.onBoth([path], (d) => this.inner.mkdir(this.map(path, d)!));
  }

  async removeTree(path: string): Promise<void> {
    if (!this.inside(path)) return this.inner.removeTree(path);
    await this.onBoth([path], (d) => this.inner.removeTree(this.map(path, d)!));
  }

  async syncDir(path: string): Promise<void> {
    if (!this.inside(path)) return this.inner.syncDir(path);
    await this.onBoth([], (d) => this.inner.syncDir(this.map(path, d)!));
  }

  private inside(path: string): boolean {
    return path === this.roots[0] || path.startsWith(`${this.roots[0]}/`);
  }

  // ---- mirroring ----------------------------------------------------------------------------

  /** Runs a read on the active drive; a qualifying error fails over and retries once on the new active drive. */
  async onActive<T>(run: (d: Drive) => Promise<T>): Promise<T> {
    const drive = this.status_.active;
    try {
      return await run(drive);
    } catch (error) {
      if (!isFailoverQualified(error) || !(await this.failover(drive, error))) throw error;
      return run(this.status_.active);
    }
  }

  /**
   * Runs a change on the active drive and, when in sync, on the passive one at the same time,
   * then reconciles the two outcomes (class comment). `perDrive` holds each drive's result.
   */
  async onBoth<T>(changed: readonly string[], run: (d: Drive) => Promise<T>): Promise<{ value: T; perDrive: [T | null, T | null] }> {
    return this.gate.shared(async () => {
      if (this.stopped_) throw this.stopped_;
      if (this.dirty) for (const path of changed) this.dirty.add(path);
      const active = this.status_.active;
      const passive = other(active);
      const mirror = this.status_.passive === 'in-sync';
      const [a, p] = await Promise.allSettled([run(active), mirror ? run(passive) : Promise.resolve(null)]);
      const perDrive: [T | null, T | null] = [null, null];
      if (a.status === 'fulfilled') perDrive[active] = a.value;
      if (mirror && p.status === 'fulfilled') perDrive[passive] = p.value as T;
      if (a.status === 'fulfilled') {
        if (mirror && p.status === 'rejected') await this.passiveFailed(passive, p.reason);
        return { value: a.value, perDrive };
      }
      if (!mirror) throw a.reason;
      if (p.status === 'rejected') throw a.reason; // refused by both drives: applied on neither, still equal; nothing to fail over to
      // The passive holds a change the active lacks (seed 1789713833). A failover that could not
      // be recorded stops this file system (failover() below): the call fails, nothing more is
      // acknowledged, and the next open settles which drive is active (either holds every
      // acknowledged commit) and resyncs the other.
      const switched = isFailoverQualified(a.reason) ? await this.failover(active, a.reason) : false;
      if (switched) return { value: p.value as T, perDrive };
      // The request failed on the active drive only: the passive accepted it, so it is no longer a copy.
      await closeQuietly(p.value);
      perDrive[passive] = null;
      await this.passiveFailed(passive, new Error(`passive accepted what the active refused: ${String(a.reason)}`));
      throw a.reason;
    });
  }

  // ---- status changes -----------------------------------------------------------------------

  /**
   * Makes the passive drive active after `failed` (the active one at the time) reported `cause`.
   * False when it cannot (the passive is not in sync). Idempotent: a concurrent call that lost
   * the race finds the switch done and adopts it (REPL-1: one switch per epoch).
   */
  failover(failed: Drive, cause: unknown): Promise<boolean> {
    return this.changeStatus(async () => {
      if (this.stopped_) throw this.stopped_;
      if (this.status_.active !== failed) return true;
      if (this.status_.passive !== 'in-sync') return false;
      const next = this.next({ active: other(failed), passive: 'failed', reason: `failover: ${this.roots[failed]}: ${describe(cause)}` });
      try {
        await this.persist(next, [next.active]); // durable on the new active before any commit uses it
      } catch (error) {
        // The new status may or may not be on the new active drive: going on with either drive
        // could acknowledge commits the other one, chosen at the next open, lacks (seed 910094:
        // going on with the old active after a half-recorded failover lost 8 commits).
        this.stopped_ = new SopError('UNAVAILABLE', `a failover from ${this.roots[failed]} could not be recorded (${describe(error)}): close and reopen the database`, { cause: error });
        this.record('stopped', this.stopped_.message);
        throw this.stopped_;
      }
      await writeStatus(this.inner, this.roots[failed], next).catch(() => undefined); // best effort: the drive is failing
      this.adopt(next, 'failover');
      await this.dropHandles(failed);
      return true;
    });
  }

  /** Takes the passive drive out of replication after `cause`; refuses (UNAVAILABLE) when that drive is already the active one. */
  passiveFailed(drive: Drive, cause: unknown): Promise<void> {
    return this.changeStatus(async () => {
      if (this.status_.active === drive) {
        throw new SopError('UNAVAILABLE', `both replicas are failing: ${this.roots[drive]}: ${describe(cause)}`, { cause });
      }
      if (this.status_.passive === 'failed') return;
      const next = this.next({ passive: 'failed', reason: `passive ${this.roots[drive]} left replication: ${describe(cause)}` });
      this.dirty = null;
      // Out of replication in memory at once (same epoch: nothing recorded yet), so no failover
      // can pick the passive while the change is being written; even when the active drive
      // cannot record it, trusting a passive that missed a change would be worse. Until it is
      // recorded, a clean close keeps the open marker, so the next open resyncs (resync.ts).
      this.status_ = { ...this.status_, passive: 'failed', reason: next.reason };
      await this.dropHandles(drive);
      try {
        await this.persist(next, [next.active]);
      } catch (error) {
        this.unrecorded = true;
        this.record('passive-failed', `${next.reason} (not recorded: ${describe(error)})`);
        throw error;
      }
      this.adopt(next, 'passive-failed');
    });
  }

  /** Serialises status changes (failovers and drops racing from concurrent calls). */
  changeStatus<T>(work: () => Promise<T>): Promise<T> {
    const run = this.statusChange.then(work, work);
    this.statusChange = run.catch(() => undefined); // the chain only orders changes; each caller gets its own error
    return run;
  }

  next(change: Partial<Pick<ReplicationStatus, 'active' | 'passive' | 'reason'>>): ReplicationStatus {
    return { ...this.status_, ...change, epoch: Math.max(this.status_.epoch, this.attempted) + 1, at: this.clock.now() };
  }

  /** Writes `status` durably to each of `drives`, in order; the first failure rejects (nothing is adopted). */
  async persist(status: ReplicationStatus, drives: readonly Drive[]): Promise<void> {
    this.attempted = Math.max(this.attempted, status.epoch);
    for (const drive of drives) {
      try {
        await writeStatus(this.inner, this.roots[drive], status);
      } catch (error) {
        throw new SopError('UNAVAILABLE', `cannot record the replication status on ${this.roots[drive]}: ${describe(error)}`, { cause: error });
      }
    }
  }

  adopt(status: ReplicationStatus, kind: ReplicationEvent['kind']): void {
    this.status_ = status;
    this.record(kind, status.reason);
  }

  record(kind: ReplicationEvent['kind'], reason: string): void {
    this.events.push({ epoch: this.status_.epoch, kind, reason, at: this.clock.now() });
    if (this.events.length > 50) this.events.shift();
  }

  /** Whether either drive holds the open marker: the last run did not close cleanly. */
  async openMarker(): Promise<boolean> {
    // A marker that cannot be looked at counts as present: a needless resync costs a read of
    // both folders, a skipped one could leave the drives different (REPL-3).
    for (const root of this.roots) if (await this.inner.stat(joinPath(root, OPEN_MARKER)).catch(() => 'unknown')) return true;
    return false;
  }

  /**
   * Writes the open marker, durably, before the engine writes anything: on the active drive
   * (required) and on the passive one (best effort), so that whichever drive is active after a
   * failover and a reinstate during this run still shows that the run did not end cleanly.
   */
  async markOpen(): Promise<void> {
    const mark = async (root: string): Promise<void> => {
      await writeSynced(this.inner, joinPath(root, OPEN_MARKER), new Uint8Array(0));
      await this.inner.syncDir(root);
    };
    await mark(this.roots[this.status_.active]);
    await mark(this.roots[other(this.status_.active)]).catch(() => undefined); // best effort (above): the active drive's marker is the one that counts
  }

  /** A status change adopted in memory that the active drive could not record (passiveFailed). */
  private unrecorded = false;

  /** A clean close: the open marker goes (from both drives: a failover may have moved the active side). */
  async markClosed(): Promise<void> {
    if (this.unrecorded || this.stopped_) return; // the drives' statuses are older than what ran: resync at the next open
    for (const root of this.roots) {
      await this.inner.unlink(joinPath(root, OPEN_MARKER)).then(
        () => this.inner.syncDir(root),
        () => undefined,
      ).catch(() => undefined); // a marker left behind costs a resync at the next open, nothing else
    }
  }

  /** Closes every open file's handle on `drive` (failed, or about to be rewritten by reinstate); they reopen lazily. */
  async dropHandles(drive: Drive): Promise<void> {
    for (const handle of this.handles) await handle.drop(drive);
  }

  private track(handle: ReplicatedHandle): ReplicatedHandle {
    this.handles.add(handle);
    return handle;
  }
}

async function closeQuietly(value: unknown): Promise<void> {
  const file = value as { close?: () => Promise<void> } | null;
  if (file && typeof file.close === 'function') await file.close().catch(() => undefined); // a handle of a drive being dropped: its errors are that drive's, already reported
}

function describe(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | null;
  return `${typeof e?.code === 'string' ? `${e.code} ` : ''}${e instanceof Error ? e.message : String(error)}`.slice(0, 300);
}

function failedRoot(root: string, error: unknown): never {
  throw new SopError('UNAVAILABLE', `replication drive ${root} cannot be prepared: ${describe(error)}`, { cause: error });
}
