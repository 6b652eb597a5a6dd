import { SopError, toSopError } from '../errors/sop-error.js';
import type { Store } from '../store/store.js';
import { Commit } from './commit.js';
import type { TxContext } from './context.js';
import { StepLog } from './logs.js';
import { pendingNodeIds } from './cluster-recovery.js';
import { isUnused } from './recovery.js';
import { replay } from './replay.js';
import { TreeSession } from './tree-session.js';

export type TransactionMode = 'write' | 'read' | 'nocheck';
export type TransactionState = 'active' | 'committing' | 'committed' | 'rolledBack';

export interface TransactionOptions {
  /** Bound of the commit (lock waits, merges, I/O before the commit point). Default 15 min, max 1 h (SOP E8). */
  maxTimeMs?: number;
  /** Aborts the commit before its commit point; the transaction then rolls back. */
  signal?: AbortSignal;
}

export const DEFAULT_MAX_TIME_MS = 15 * 60_000;
export const MAX_MAX_TIME_MS = 60 * 60_000;

/**
 * A transaction over any number of stores. Reads see committed data as of each node's first
 * read; `commit` validates what was read (spec TX-3) and, for writers, runs the two-phase
 * commit in ./commit.ts. After commit or rollback every call fails with TX_CLOSED.
 */
export class Transaction {
  private stateValue: TransactionState = 'active';
  private readonly sessions = new Map<string, TreeSession>();
  /** Stores this transaction logged as created (they may exist even if creation then failed). */
  private readonly createdStores: string[] = [];
  readonly log: StepLog;
  readonly maxTimeMs: number;
  private readonly blobPrefix: string;
  /** Run once the commit validated this transaction's reads (whenValidated). */
  private readonly committedHooks: Array<() => void> = [];

  constructor(
    private readonly ctx: TxContext,
    readonly id: string,
    readonly mode: TransactionMode,
    private readonly options: TransactionOptions,
  ) {
    this.maxTimeMs = Math.min(options.maxTimeMs ?? DEFAULT_MAX_TIME_MS, MAX_MAX_TIME_MS);
    this.log = new StepLog(ctx.env, ctx.translogs, id);
    this.blobPrefix = ctx.env.random.uuid().slice(0, 2);
  }

  get state(): TransactionState {
    return this.stateValue;
  }

  /**
   * Runs `hook` once this transaction has committed with its reads validated (TX-3): never when
   * it fails or rolls back, and never in 'nocheck' mode, whose reads are not validated. Reads are
   * not a snapshot, so only then is what a transaction read known to be one consistent committed
   * state: layers publish caches built from its reads this way.
   */
  whenValidated(hook: () => void): void {
    this.ensureActive();
    if (this.mode !== 'nocheck') this.committedHooks.push(hook);
  }

  ensureActive(): void {
    if (this.stateValue !== 'active') throw new SopError('TX_CLOSED', `transaction ${this.id} is ${this.stateValue}`);
  }

  ensureWritable(): void {
    this.ensureActive();
    if (this.mode !== 'write') throw new SopError('READ_ONLY', `transaction ${this.id} is a '${this.mode}' transaction`);
  }

  session(store: Store): TreeSession {
    let session = this.sessions.get(store.name);
    if (!session) {
      session = new TreeSession(store, store.compare!, this.ctx.env, this.ctx.nodes);
      this.sessions.set(store.name, session);
    }
    return session;
  }

  /** A fresh id from the database's Random port (item ids). */
  newId(): string {
    return this.ctx.env.random.uuid();
  }

  /**
   * A fresh physical blob id. All blobs of one transaction share their first byte, so they land
   * in one fan-out folder and the commit syncs one folder instead of one per blob.
   */
  newBlobId(): string {
    return `${this.blobPrefix}${this.ctx.env.random.uuid().slice(2)}`;
  }


  /**
   * Starts writing the session's new value blobs now, synced, after a step-log record that names
   * them: recovery deletes them if this transaction dies, rollback deletes them, the commit refers
   * to them (STREAM-5, TX-10). The write runs while the caller goes on producing values (a
   * stream's next chunks); at most one per session is in flight, so memory stays bounded, and
   * the commit and the rollback wait for it. Its failure is the transaction's: raised by the next
   * early write or the commit, which then rolls back. Clustered: the liveness lock comes first,
   * so no other process's recovery takes the transaction for dead (CLU-4).
   */
  async spillValues(session: TreeSession): Promise<void> {
    this.ensureWritable();
    await this.spills.get(session);
    this.raiseSpillFailure();
    const blobs = session.takeForSpill();
    if (blobs.length === 0) return;
    const run = this.writeEarly(session, blobs).catch((error: unknown) => {
      this.spillFailure ??= error;
    });
    this.spills.set(session, run);
  }

  private async writeEarly(session: TreeSession, blobs: ReadonlyArray<{ id: string; bytes: Uint8Array }>): Promise<void> {
    await this.ctx.cluster?.holdLiveness(this.id, this.maxTimeMs);
    await this.log.append({ type: 'prepare', blobs: blobs.map((b) => ({ store: session.store.name, id: b.id })) });
    await session.store.blobs.putAll(blobs);
    session.spillWritten(blobs.map((b) => b.id));
  }

  /** Waits for the early writes in flight; raises the first that failed. */
  private async settleSpills(): Promise<void> {
    await Promise.all(this.spills.values());
    this.spills.clear();
    this.raiseSpillFailure();
  }

  private raiseSpillFailure(): void {
    if (this.spillFailure !== undefined) throw toSopError(this.spillFailure, `early write of values of ${this.id}`);
  }

  /**
   * Clustered: whether a node this session read belongs to a commit that is not fully applied
   * yet (its priority log is still there). Outside clustered mode every commit is applied, or
   * redone at open, before anyone reads it.
   */
  async readsUnsettledCommit(session: TreeSession): Promise<boolean> {
    if (!this.ctx.cluster) return false;
    let pending: ReadonlyMap<string, string>;
    try {
      pending = await pendingNodeIds(this.ctx.env, this.ctx.translogs);
    } catch {
      return false; // the logs cannot be read now: the caller reports its own error, as it would have
    }
    for (const id of session.reads.keys()) if (pending.has(id)) return true;
    return false;
  }

  hasSession(name: string): boolean {
    return this.sessions.has(name);
  }

  /** Records, durably and before the store appears, that this transaction creates it (spec STORE-3). */
  async logStoreCreation(name: string): Promise<void> {
    // Clustered: from its first log record on, the transaction is live for other processes'
    // recovery, which would otherwise remove the store it is creating as unused (CLU-4; found
    // by the clustered simulator, seed 109734343 --nodes 3).
    await this.ctx.cluster?.holdLiveness(this.id, this.maxTimeMs);
    await this.log.append({ type: 'createStore', name });
    this.createdStores.push(name);
  }

  /** The commit in progress (settled or not): Database.close waits for it. */
  private running: Promise<unknown> = Promise.resolve();
  /** The early write of values in flight per session (spillValues); these promises never reject. */
  private readonly spills = new Map<TreeSession, Promise<void>>();
  /** The first early write that failed: the transaction cannot commit. */
  private spillFailure: unknown = undefined;

  commit(): Promise<void> {
    const run = this.commitOnce();
    this.running = run.catch(() => undefined); // only settles for close(); the caller gets the error
    return run;
  }

  /** Resolves once a commit in progress has ended, whatever its outcome. */
  settled(): Promise<unknown> {
    return this.running;
  }

  private async commitOnce(): Promise<void> {
    this.ensureActive();
    this.stateValue = 'committing';
    let commit: Commit | undefined;
    try {
      // Any mode: an abort that already fired ends the commit as a timeout, as in SOP (TX-9).
      const signal = this.options.signal;
      if (signal?.aborted) throw new SopError('TIMEOUT', 'commit aborted by its AbortSignal', { cause: signal.reason });
      if (this.mode === 'read') await this.validateReads();
      if (this.mode === 'write') {
        await this.settleSpills();
        commit = this.newCommit();
        if (commit) await commit.run();
        else await this.validateReads();
        // Committed: the stores stay. A log that only recorded store creations is marked done
        // before it goes, so a copy reappearing after a power loss cannot undo them (LOG-3).
        if (!commit && (await this.deleteSpilled())) throw new SopError('IO', `transaction ${this.id}: value blobs it wrote early could not be deleted`);
        if (!commit && this.createdStores.length > 0) await this.log.append({ type: 'done', obsolete: [] });
        const created = this.createdStores.length > 0;
        this.createdStores.length = 0;
        if (!commit) await this.log.remove();
        if (!commit && created) await this.ctx.cluster?.releaseLiveness(this.id).catch(() => undefined); // its TTL frees it
      }
      this.stateValue = 'committed';
      for (const hook of this.committedHooks.splice(0)) hook();
    } catch (error) {
      // Past the commit point the outcome stands (redone by recovery); before it, undo (spec TX-10).
      if (commit?.passedCommitPoint) this.stateValue = 'committed';
      else if (this.stateValue === 'committing') await this.undo(commit?.leftovers ?? false);
      throw toSopError(error, `commit of ${this.id}`);
    } finally {
      this.ctx.transactionEnded(this.id);
    }
  }

  async rollback(): Promise<void> {
    if (this.stateValue === 'rolledBack') return;
    if (this.stateValue === 'committed') throw new SopError('TX_CLOSED', `transaction ${this.id} is already committed`);
    if (this.stateValue === 'committing') throw new SopError('TX_CLOSED', `transaction ${this.id} is committing`);
    await this.undo();
    this.ctx.transactionEnded(this.id);
  }

  /** The two-phase commit, or undefined when this write transaction changed nothing. */
  private newCommit(): Commit | undefined {
    const sessions = [...this.sessions.values()];
    if (!sessions.some((s) => s.hasWrites())) return undefined;
    return new Commit(this.ctx, { tid: this.id, sessions, log: this.log, maxTimeMs: this.maxTimeMs, signal: this.options.signal, newBlobId: () => this.newBlobId() });
  }

  /** A reader commits only if everything it read is still current (SOP E60, spec TX-4). */
  private async validateReads(): Promise<void> {
    const cluster = this.ctx.cluster;
    if (cluster) {
      // Priority logs first (a redo by another process's recovery holds no node locks but
      // keeps its log until it is done), then reload, then node locks of commits in flight:
      // another order could miss one (CLU-1; found by the clustered simulator's bank audit,
      // seed 109734344 --nodes 3).
      let pending = await pendingNodeIds(this.ctx.env, this.ctx.translogs);
      // A pending commit whose process died is finished now, not after its locks expire (CLU-6).
      if (await this.settleDeadCommits(pending)) pending = await pendingNodeIds(this.ctx.env, this.ctx.translogs);
      for (const session of this.sessions.values()) await cluster.refresh(session.store, true);
      for (const session of this.sessions.values()) {
        await cluster.assertNotInFlight(session.reads.keys(), (owner, key) => this.ctx.takeOver(owner, key));
        for (const id of session.reads.keys()) {
          if (pending.has(id)) throw new SopError('CONFLICT', `node ${id} has a commit that is not fully applied yet; retry`);
        }
      }
    }
    for (const session of this.sessions.values()) {
      if (session.isStale()) await replay(session);
    }
  }

  /** Deletes the value blobs written early (rollback); true when some could not be: the step log then stays for a sweep. */
  private async deleteSpilled(): Promise<boolean> {
    let failed = false;
    for (const session of this.sessions.values()) {
      const ids = session.spilledIds();
      if (ids.length === 0) continue;
      try {
        await session.store.blobs.removeAll(ids, true);
      } catch (error) {
        failed = true;
        this.ctx.incident(`rollback of ${this.id}`, error);
      }
    }
    return failed;
  }

  /** Finishes the pending commits this reader read from whose processes are dead; whether it finished any. */
  private async settleDeadCommits(pending: ReadonlyMap<string, string>): Promise<boolean> {
    const tids = new Set<string>();
    for (const session of this.sessions.values()) for (const id of session.reads.keys()) if (pending.has(id)) tids.add(pending.get(id)!);
    let settled = false;
    for (const tid of tids) {
      const owner = await this.ctx.env.coordinator.owner(this.ctx.cluster!.txKey(tid));
      if (owner === null || !(await this.ctx.isDeadOwner(owner))) continue;
      await this.ctx.takeOver(owner, this.ctx.cluster!.txKey(tid));
      settled = true;
    }
    return settled;
  }

  /**
   * Rollback: nothing of phase 1 is visible; remove stores this transaction created if unused
   * (spec STORE-3). The step log goes last, and only if everything it describes is undone.
   */
  private async undo(leftovers = false): Promise<void> {
    this.stateValue = 'rolledBack';
    await Promise.all(this.spills.values()); // never rejects: what an early write left is deleted below
    leftovers = (await this.deleteSpilled()) || leftovers;
    const created = this.createdStores.length > 0;
    for (const name of this.createdStores.splice(0)) {
      try {
        const store = await this.ctx.repo.get(name);
        if (store && isUnused(store)) await this.ctx.repo.remove(name);
        else if (!store) await this.ctx.repo.syncNames(); // gone, but maybe not durably: see syncNames
      } catch (error) {
        leftovers = true; // the step log stays: a sweep removes the store (STORE-3)
        this.ctx.incident(`rollback of ${this.id}`, error);
      }
    }
    // A step log that could not go is finished by a sweep, which finds nothing left to undo.
    if (!leftovers) await this.log.remove(created).catch((error: unknown) => this.ctx.incident(`rollback of ${this.id}`, error));
    if (created) await this.ctx.cluster?.releaseLiveness(this.id).catch(() => undefined); // its TTL frees it
  }
}
