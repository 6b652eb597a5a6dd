import { type LazyBlob, journaled } from '../blobs/lazy-blobs.js';
import type { BNode, LeafNode } from '../btree/node.js';
import { type LeafItemPatch, encodeNode, leafItemPatch } from '../codec/node-codec.js';
import { SopError, assert, toSopError } from '../errors/sop-error.js';
import { type Handle, activePhysical, flipped, newHandle } from '../registry/handle.js';
import type { HandleChange } from '../registry/registry.js';
import type { StoreInfo } from '../store/store-info.js';
import type { TxContext } from './context.js';
import { LockSet } from './locks.js';
import { type BlobRef, type PriorityLog, type StepLog, priorityLogExists, removePriorityLog, writePriorityLog } from './logs.js';
import { redoDeadCommits, redoUnappliedCounts } from './cluster-recovery.js';
import { replay } from './replay.js';
import type { Journal } from '../journal/journal.js';
import type { JournalBlob, JournalRecord, JournalSector } from '../journal/record.js';
import { patchLiterals, prefixSuffixOps } from '../codec/patch.js';
import type { StagedSectors } from '../registry/registry.js';
import { SECTOR_CRC_BYTES } from '../registry/sector.js';
import type { TreeSession } from './tree-session.js';

const MAX_ATTEMPTS = 30;

interface StorePlan {
  readonly session: TreeSession;
  readonly changes: HandleChange[];
  readonly blobs: Array<{ id: string; bytes: Uint8Array }>;
  /**
   * Journal mode: updated leaves not encoded at commit. Each is logged as item changes of the
   * blob it replaces when that blob is of this journal cycle, else encoded then and logged
   * whole; either way the store holds it until the checkpoint encodes it (JNL-1, JNL-2).
   */
  readonly leaves: LazyLeaf[];
  readonly obsolete: string[];
  readonly nodes: Array<{ physical: string; node: BNode }>;
  info: StoreInfo | null;
}

interface LazyLeaf {
  readonly id: string;
  readonly node: LeafNode;
  readonly patch: LeafItemPatch;
  /** The physical id of the version it replaces. */
  readonly base: string;
  /** Its encoding, once the record needed it whole. */
  bytes: Uint8Array | null;
}

export interface CommitInput {
  readonly tid: string;
  readonly sessions: readonly TreeSession[];
  readonly log: StepLog;
  readonly maxTimeMs: number;
  readonly signal: AbortSignal | undefined;
  /** Physical ids of this transaction's blobs (one fan-out folder per commit). */
  readonly newBlobId: () => string;
}

/**
 * Two-phase commit of a write transaction (spec TX-1..TX-9, sop-engine.md §C):
 * phase 1 takes item and node locks, validates the read set (merging when other items of the
 * same nodes changed) and writes new node and value blobs under fresh physical ids; the
 * commit point is the durable priority log; phase 2 flips the registry (copy-on-write
 * sectors), publishes, and cleans up.
 */
export class Commit {
  private readonly locks: LockSet;
  /** Clustered: this process's liveness generation when the commit began (CLU-6). */
  private readonly generation: number;
  private readonly deadline: number;
  private plans: StorePlan[] = [];
  private committed = false;
  private undone = false;
  /** Phase 1 could not be fully undone: the step log must stay for the sweep. */
  leftovers = false;

  /** True once the priority log may be durable: from then on the outcome is never undone (spec LOG-2). */
  get passedCommitPoint(): boolean {
    return this.committed;
  }

  constructor(
    private readonly ctx: TxContext,
    private readonly input: CommitInput,
  ) {
    const cluster = ctx.cluster;
    // A commit retries its lock set under the same owner: a release the heartbeat retries later
    // must not drop the same key taken again meanwhile (the local lock tells).
    this.locks = new LockSet(ctx.env, ctx.locks, ctx.lockOwner(input.tid), cluster ? (key, owner) => cluster.release(key, owner, () => ctx.locks.holds(key, owner)) : undefined);
    this.generation = ctx.cluster?.liveness.generation ?? 0;
    this.deadline = ctx.env.clock.monotonic() + input.maxTimeMs;
  }

  /** Resolves once the commit is durable and visible; rejects after rolling back phase 1. */
  async run(): Promise<void> {
    try {
      await this.phase1();
    } catch (error) {
      await this.undoPhase1();
      throw error;
    }
    await this.phase2();
  }

  private async phase1(): Promise<void> {
    await this.lockItems();
    await this.lockAndValidate();
    this.plans = this.input.sessions.filter((s) => s.hasWrites()).map((s) => this.plan(s));
    if (this.ctx.journal) return; // journal mode: the blobs travel in the record (spec JNL-2)
    const blobs = this.plans.flatMap((p) => p.blobs.map((b) => ({ store: p.session.store.name, id: b.id })));
    await this.input.log.append({ type: 'prepare', blobs });
    await this.ctx.env.point?.('commit.afterPrepareLog');
    for (const plan of this.plans) await plan.session.store.blobs.putAll(plan.blobs);
    await this.ctx.env.point?.('commit.afterBlobs');
    this.checkDeadline();
  }

  /** Item locks make a second writer of the same item fail fast (spec LOCK-2, SOP E49). */
  private async lockItems(): Promise<void> {
    const keys: string[] = [];
    for (const s of this.input.sessions) {
      for (const e of s.tracker.entries.values()) {
        if (e.action === 'update' || e.action === 'remove') keys.push(`${this.ctx.namespace}:i:${e.id}`);
      }
    }
    // Clustered: the transaction's liveness lock, so no other process's recovery undoes it (CLU-4).
    if (this.ctx.cluster) keys.push(this.ctx.cluster.txKey(this.input.tid));
    for (;;) {
      const busy = await this.locks.tryLock(keys, this.input.maxTimeMs);
      if (!busy) return;
      if (!(await this.tookOver(busy))) throw new SopError('CONFLICT', `an item this transaction changes is being changed by another transaction (${busy.key}); retry`);
    }
  }

  /** A lock held by a dead process's transaction is taken over at once (CLU-6): true when it was. */
  private async tookOver(busy: { key: string; owner: string | null }): Promise<boolean> {
    if (busy.owner === null || !(await this.ctx.isDeadOwner(busy.owner))) return false;
    this.checkDeadline();
    await this.ctx.takeOver(busy.owner, busy.key);
    return true;
  }

  /** Locks every node read or changed, then checks none changed since read; merges if they did. */
  private async lockAndValidate(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.checkDeadline();
      const busy = await this.locks.tryLock(this.nodeLockKeys(), this.input.maxTimeMs);
      if (busy) {
        const took = await this.tookOver(busy);
        await this.lockItems();
        if (!took) await this.backoff(attempt);
        continue;
      }
      await this.syncCluster();
      const stale = this.input.sessions.filter((s) => s.isStale());
      if (stale.length === 0) return;
      if (attempt >= MAX_ATTEMPTS) throw new SopError('CONFLICT', `gave up after ${attempt} merge attempts; retry`);
      await this.locks.releaseAll();
      for (const session of stale) await replay(session);
      await this.lockItems();
    }
  }

  /**
   * Clustered: with the node locks held, first redo what a Coordinator restart may have left
   * unapplied (its locks vanished, so ours prove nothing about it), then re-read the registries
   * from disk, so validation compares against every commit of every process (CLU-1, CLU-5).
   */
  private async syncCluster(): Promise<void> {
    const cluster = this.ctx.cluster;
    if (!cluster) return;
    if (await cluster.restarted(false)) await this.ctx.restartFastPath();
    await redoDeadCommits(this.ctx.env, this.ctx.translogs, this.ctx.repo, this.input.tid, (tid) => this.isLive(tid));
    for (const s of this.input.sessions) await cluster.refresh(s.store, true);
  }

  private async isLive(tid: string): Promise<boolean> {
    return this.ctx.isLocal(tid) || (await this.ctx.cluster!.isLive(tid));
  }

  private nodeLockKeys(): string[] {
    const keys: string[] = [];
    for (const s of this.input.sessions) {
      for (const id of s.reads.keys()) keys.push(`${this.ctx.namespace}:n:${id}`);
    }
    return keys;
  }

  private plan(session: TreeSession): StorePlan {
    const { env } = this.ctx;
    const now = env.clock.now();
    const plan: StorePlan = { session, changes: [], blobs: [], leaves: [], obsolete: [], nodes: [], info: null };
    for (const [id, staged] of session.staged) {
      const before: Handle | null = session.store.registry.get(id) ?? null;
      if (staged.action === 'remove') {
        assert(before !== null, `removed node ${id} has no handle`);
        plan.changes.push({ id, before, after: null });
        plan.obsolete.push(activePhysical(before));
        continue;
      }
      const physical = this.input.newBlobId();
      const node = staged.node!;
      const patch = this.ctx.journal && staged.action === 'update' && node.kind === 'leaf' ? leafItemPatch(node) : undefined;
      if (patch && before) plan.leaves.push({ id: physical, node: node as LeafNode, patch, base: activePhysical(before), bytes: null });
      else plan.blobs.push({ id: physical, bytes: encodeNode(node) });
      plan.nodes.push({ physical, node });
      if (staged.action === 'add') {
        assert(before === null, `added node ${id} already has a handle`);
        plan.changes.push({ id, before: null, after: newHandle(id, physical, now) });
      } else {
        assert(before !== null, `updated node ${id} has no handle`);
        plan.changes.push({ id, before, after: flipped(before, physical, now) });
        plan.obsolete.push(activePhysical(before));
      }
    }
    this.planValues(session, plan);
    return plan;
  }

  /** New value blobs still referenced are written; replaced and removed ones become obsolete. */
  private planValues(session: TreeSession, plan: StorePlan): void {
    assert(session.spilling.size === 0, `store ${session.store.name}: an early write of values is unfinished at commit`);
    for (const entry of session.tracker.entries.values()) {
      const fresh = entry.current?.valueBlobId;
      const old = entry.original?.valueBlobId;
      if (fresh && fresh !== old && entry.action !== 'get' && !session.spilled.has(fresh)) {
        const bytes = session.pendingValues.get(fresh);
        assert(bytes !== undefined, `value blob ${fresh} was not staged`);
        plan.blobs.push({ id: fresh, bytes }); // framed when staged (Btree.storeValue)
      }
      if (old && old !== fresh && (entry.action === 'update' || entry.action === 'remove')) plan.obsolete.push(old);
    }
    // Written early and then replaced in this transaction: nothing refers to them (STREAM-5).
    plan.obsolete.push(...session.spilledDropped);
  }

  private async phase2(): Promise<void> {
    const names = this.plans.filter((p) => p.session.tracker.countDelta !== 0).map((p) => p.session.store.name);
    const cluster = this.ctx.cluster;
    const counted = async (): Promise<void> => {
      // Clustered: counts move under the store's cluster lock, from the info on disk (CLU-3).
      if (cluster) {
        for (const p of this.plans) {
          if (!names.includes(p.session.store.name)) continue;
          await cluster.refreshInfo(p.session.store);
          await redoUnappliedCounts(this.ctx.env, this.ctx.translogs, this.ctx.repo, p.session.store, this.input.tid);
        }
      }
      if (this.ctx.journal) return this.commitThroughJournal(this.ctx.journal);
      const log = this.priorityLog();
      await this.reachCommitPoint(log);
      await this.ctx.env.point?.('commit.afterPlg');
      await this.confirmAlive(log.tid);
      await this.apply(log);
    };
    try {
      const bound = { deadline: this.deadline, ...(this.input.signal ? { signal: this.input.signal } : {}) };
      await this.ctx.storeMutex.runAll(names, () => (cluster && names.length > 0 ? cluster.withStoreLocks(names, counted, bound) : counted()));
    } catch (error) {
      // Failed before the commit point (a store lock or a store info that could not be read):
      // nothing is visible, so phase 1 is undone and its locks released (found by the
      // clustered simulator, seed 18 --nodes 3: the node locks leaked and blocked liveness).
      if (!this.committed) await this.undoPhase1();
      throw error;
    }
    await cluster?.committed(this.plans.map((p) => p.session.store.name));
    if (this.ctx.journal) await this.finishJournaled(this.ctx.journal);
    else await this.finish();
  }

  /**
   * Journal mode (spec JNL-1, JNL-2): under the journal lock, stage the registry sectors, append
   * the record (the commit point: one fdatasync), then adopt blobs and sectors in memory and
   * publish. A checkpoint writes them later (JNL-3).
   */
  private async commitThroughJournal(journal: Journal): Promise<void> {
    await journal.exclusive(async () => {
      const log = this.priorityLog();
      const staged: StagedSectors[] = [];
      for (const plan of this.plans) staged.push(await plan.session.store.registry.stageForJournal(plan.changes));
      await this.reachJournalPoint(journal, this.journalRecord(log.seq, staged));
      await this.ctx.env.point?.('journal.afterRecord');
      try {
        for (const [i, plan] of this.plans.entries()) {
          journaled(plan.session.store.blobs).putLazily(lazyBlobs(plan));
          plan.session.store.registry.applyStaged(staged[i]!);
          journal.applied(plan.session.store, plan.info !== null);
        }
        await this.ctx.env.point?.('journal.afterApply');
      } catch (error) {
        // In memory only, so not expected to fail; if it does, the record decides at the next open.
        journal.poison();
        this.ctx.commitNeedsRecovery(log.tid, error);
        throw new SopError('IO', `transaction ${log.tid} is committed durably but could not be applied; it is replayed on the next open`, { cause: error });
      }
      this.publish();
      // Obsolete blobs never written are forgotten; files go at the checkpoint (JNL-3).
      for (const plan of this.plans) journaled(plan.session.store.blobs).removeLazily(plan.obsolete);
    });
  }

  private journalRecord(seq: number, staged: readonly StagedSectors[]): JournalRecord {
    return {
      tid: this.input.tid,
      seq,
      stores: this.plans.map((p) => ({ name: p.session.store.name, rootId: p.session.store.info.rootId, info: p.info })),
      blobs: this.plans.flatMap((p) => [...p.blobs.map((b) => journalBlob(p, b)), ...p.leaves.map((l) => journalLeaf(p, l))]),
      sectors: this.plans.flatMap((p, i) => staged[i]!.images.map((e) => journalSector(p, e))),
      obsolete: this.obsoleteRefs(),
    };
  }

  /** As reachCommitPoint, for a journal record: a failed write leaves no record behind, durably. */
  private async reachJournalPoint(journal: Journal, record: JournalRecord): Promise<void> {
    let appending = false;
    try {
      const failure = this.ctx.failure();
      if (failure) throw failure;
      await this.locks.verify(this.input.maxTimeMs);
      appending = true;
      await journal.write(record);
      this.committed = true;
    } catch (error) {
      try {
        if (appending) await journal.discard();
      } catch (cleanupError) {
        this.committed = true; // outcome unknown: the next open replays the record if it is whole
        journal.poison();
        this.ctx.commitNeedsRecovery(record.tid, cleanupError);
        throw new SopError('IO', `commit of ${record.tid} failed and its outcome is unknown until the database is reopened`, { cause: error });
      }
      await this.undoPhase1();
      throw toSopError(error, 'write journal record');
    }
  }

  /**
   * After a journaled commit: a step log (stores this transaction created) is marked done, so a
   * reappearing copy cannot undo them; locks go; a checkpoint runs when one is due.
   */
  private async finishJournaled(journal: Journal): Promise<void> {
    if (this.input.log.exists) {
      try {
        await this.input.log.append({ type: 'done', obsolete: [] });
        await this.input.log.remove();
      } catch (error) {
        // The record stays above the mark (no checkpoint from now on): replay deletes the step log (JNL-4).
        journal.poison();
        this.ctx.commitNeedsRecovery(this.input.tid, error);
        return;
      }
    }
    await this.locks.releaseAll();
    for (const plan of this.plans) for (const id of plan.obsolete) this.ctx.nodes.forget(id);
    if (journal.due) await journal.checkpoint().catch((e: unknown) => this.ctx.incident('checkpoint', e)); // kept records are checkpointed by a later try
  }

  /**
   * Writes the priority log. If that fails, the log must be gone durably before phase 1 is
   * undone: a log that survived a crash would be redone onto deleted blobs (spec LOG-2).
   */
  private async reachCommitPoint(log: PriorityLog): Promise<void> {
    let creating = false;
    try {
      const failure = this.ctx.failure();
      if (failure) throw failure; // counts and images may be stale after a failed apply (spec REC-5)
      this.checkDeadline();
      await this.locks.verify(this.input.maxTimeMs);
      await this.assertAlive();
      creating = true;
      await writePriorityLog(this.ctx.env, this.ctx.translogs, log);
      this.committed = true;
    } catch (error) {
      // Another process took this commit point (a fence, CLU-6): this process was presumed dead
      // while paused. The fence is not ours to remove; nothing was committed.
      if (creating && (error as { code?: string }).code === 'EEXIST') {
        await this.undoPhase1();
        throw new SopError('CONFLICT', `transaction ${log.tid} was recovered by another process while this one was unresponsive; retry`, { cause: error });
      }
      try {
        if (creating) await removePriorityLog(this.ctx.env, this.ctx.translogs, log.tid);
        await this.ctx.env.fs.syncDir(this.ctx.translogs);
      } catch (cleanupError) {
        this.committed = true; // outcome unknown: keep every blob, let recovery decide
        this.ctx.commitNeedsRecovery(log.tid, cleanupError);
        throw new SopError('IO', `commit of ${log.tid} failed and its outcome is unknown until the database is reopened`, { cause: error });
      }
      await this.undoPhase1();
      throw toSopError(error, 'write priority log');
    }
  }

  private priorityLog(): PriorityLog {
    const seq = this.ctx.nextSeq(Math.max(0, ...this.plans.map((p) => p.session.store.info.commitSeq)));
    const now = this.ctx.env.clock.now();
    for (const plan of this.plans) {
      const delta = plan.session.tracker.countDelta;
      const info = plan.session.store.info;
      if (delta !== 0) plan.info = { ...info, count: info.count + delta, commitSeq: seq, updatedAt: now };
    }
    return {
      tid: this.input.tid,
      seq,
      stores: this.plans.map((p) => ({ name: p.session.store.name, count: p.info?.count ?? -1, changes: p.changes })),
      obsolete: this.obsoleteRefs(),
    };
  }

  private obsoleteRefs(): BlobRef[] {
    return this.plans.flatMap((p) => p.obsolete.map((id) => ({ store: p.session.store.name, id })));
  }

  /** Phase 2 proper: registry flip and store infos, durable, then published at once (spec ACID-2). */
  private async apply(log: PriorityLog): Promise<void> {
    try {
      const ours = this.stillOurs(log.tid);
      for (const plan of this.plans) {
        await plan.session.store.registry.write(log.tid, plan.changes, 'commit', ours?.check);
        if (ours && !ours.state.ours) return; // redone by another process, and maybe built on since: nothing here is current
      }
      await this.ctx.env.point?.('commit.afterFlip');
      for (const plan of this.plans) if (plan.info) await this.ctx.repo.writeInfo(plan.session.store, plan.info);
      await this.ctx.env.point?.('commit.afterStoreInfo');
    } catch (error) {
      this.ctx.commitNeedsRecovery(log.tid, error);
      throw new SopError('IO', `transaction ${log.tid} is committed durably but could not be applied; it is redone on the next open`, {
        cause: error,
      });
    }
    this.publish();
  }

  /**
   * Clustered: whether this commit's priority log is still there, asked with the registry
   * sectors held. This process may be presumed dead after confirmAlive (a Redis restart dropping
   * its liveness key while it waits for sectors); another process then redoes the transaction and
   * removes the log, and a later commit may remove a node this one adds. Applying the add then
   * would resurrect it (REC-2, the stale redo of seed 1981525731 seen from the owner's side).
   */
  private stillOurs(tid: string): { check: () => Promise<boolean>; state: { ours: boolean } } | undefined {
    if (!this.ctx.cluster) return undefined;
    const state = { ours: true };
    return { state, check: async () => (state.ours = await priorityLogExists(this.ctx.env, this.ctx.translogs, tid)) };
  }

  private publish(): void {
    for (const plan of this.plans) {
      plan.session.store.registry.publish(plan.changes);
      if (plan.info) plan.session.store.info = plan.info;
      for (const { physical, node } of plan.nodes) this.ctx.nodes.remember(physical, node);
    }
  }

  /** Marks the step log done, releases locks, deletes what the commit made obsolete (spec LOG-3). */
  private async finish(): Promise<void> {
    const obsolete = this.obsoleteRefs();
    try {
      await this.input.log.append({ type: 'done', obsolete });
    } catch (error) {
      // Without the done record the priority log must stay authoritative, so the node locks
      // stay held and the database stops accepting commits until recovery (spec REC-5).
      this.ctx.commitNeedsRecovery(this.input.tid, error);
      return;
    }
    await this.ctx.env.point?.('commit.afterDone');
    // A priority log left behind is redone by recovery, which finds every change applied (REC-2).
    await removePriorityLog(this.ctx.env, this.ctx.translogs, this.input.tid).catch((e: unknown) => this.ctx.incident(`cleanup of ${this.input.tid}`, e));
    await this.locks.releaseAll();
    try {
      for (const plan of this.plans) {
        for (const id of plan.obsolete) this.ctx.nodes.forget(id);
        await plan.session.store.blobs.removeAll(plan.obsolete, true);
      }
      await this.ctx.env.point?.('commit.afterCleanup');
      await this.input.log.remove();
    } catch (error) {
      // Cleanup is redone from the step log by recovery; the commit itself succeeded.
      this.ctx.incident(`cleanup of ${this.input.tid}`, error);
    }
  }

  /**
   * Before the commit point nothing is visible: delete the new blobs and release the locks.
   * If a deletion fails, `leftovers` keeps the step log so a sweep finishes the undo (spec TX-10).
   */
  private async undoPhase1(): Promise<void> {
    if (this.committed || this.undone) return;
    this.undone = true;
    await this.locks.releaseAll();
    if (this.ctx.journal) return; // journal mode writes no blob before its commit point (JNL-2)
    for (const plan of this.plans) {
      try {
        await plan.session.store.blobs.removeAll(plan.blobs.map((b) => b.id), true);
      } catch (error) {
        this.leftovers = true; // the step log stays: a sweep deletes them (TX-10)
        this.ctx.incident(`undo of ${this.input.tid}`, error);
      }
    }
  }

  /**
   * Clustered: this process was not presumed dead since the commit began (its liveness key was
   * never lost), so no other process recovered this transaction (CLU-6). Before the commit point.
   */
  private async assertAlive(): Promise<void> {
    const liveness = this.ctx.cluster?.liveness;
    if (liveness && !(await liveness.stillAlive(this.generation))) {
      throw new SopError('CONFLICT', 'this process lost its liveness key while committing (paused, or Redis lost it): its locks may have been taken over; retry');
    }
  }

  /**
   * Clustered, right after the priority log: if this process was presumed dead meanwhile,
   * another process may have recovered the transaction from logs that did not yet show its
   * commit point and undone it. Applying now could make the registry point at blobs that undo
   * deleted, so the outcome is left to recovery: redone if the priority log is still there,
   * undone if the fence won (REC-5, CLU-6).
   */
  private async confirmAlive(tid: string): Promise<void> {
    const liveness = this.ctx.cluster?.liveness;
    if (!liveness || (await liveness.stillAlive(this.generation).catch(() => false))) return; // unknown counts as lost: recovery decides
    const error = new SopError('IO', `transaction ${tid} reached its commit point while this process was presumed dead; its outcome is decided by recovery`);
    this.ctx.commitNeedsRecovery(tid, error);
    throw error;
  }

  private checkDeadline(): void {
    if (this.input.signal?.aborted) throw new SopError('TIMEOUT', 'commit aborted by its AbortSignal', { cause: this.input.signal.reason });
    if (this.ctx.env.clock.monotonic() > this.deadline) throw new SopError('TIMEOUT', `commit exceeded maxTimeMs (${this.input.maxTimeMs} ms)`);
  }

  private async backoff(attempt: number): Promise<void> {
    const ms = 1 + Math.floor(this.ctx.env.random.nextFloat() * Math.min(20, 2 * attempt));
    try {
      await this.ctx.env.clock.sleep(ms, this.input.signal);
    } catch (error) {
      throw new SopError('TIMEOUT', 'commit aborted by its AbortSignal', { cause: error });
    }
  }
}

/**
 * A changed sector as the journal logs it: a patch of its image from the commit before that
 * changed it in this journal cycle (replay rebuilds that one first), else whole (JNL-1).
 */
function journalSector(plan: StorePlan, image: StagedSectors['images'][number]): JournalSector {
  const store = plan.session.store;
  const whole = { store: store.name, segment: image.segment, sector: image.sector, bytes: image.bytes };
  const base = store.registry.unflushedImage(image.key);
  const ops = base ? prefixSuffixOps(base, image.bytes, SECTOR_CRC_BYTES) : [];
  return ops.length === 0 ? whole : { ...whole, bytes: patchLiterals(image.bytes, ops), ops };
}

/**
 * An updated leaf as the journal logs it: as item changes of the blob it replaces when the store
 * holds that blob from this journal cycle with the very items the leaf was copied from (replay
 * rebuilds it first), else encoded now and logged whole (JNL-1).
 */
function journalLeaf(plan: StorePlan, leaf: LazyLeaf): JournalBlob {
  const store = plan.session.store;
  if (leaf.bytes === null && journaled(store.blobs).leafItems(leaf.base) === leaf.patch.base) {
    return { store: store.name, id: leaf.id, bytes: leaf.patch.bytes, items: { base: leaf.base, node: leaf.node.id, ops: leaf.patch.ops } };
  }
  leaf.bytes ??= encodeNode(leaf.node);
  return { store: store.name, id: leaf.id, bytes: leaf.bytes };
}

/** What the store holds until the checkpoint: every new blob, leaves with their items (the bases of later item patches). */
function lazyBlobs(plan: StorePlan): LazyBlob[] {
  const leafItems = new Map<string, readonly unknown[]>();
  for (const { physical, node } of plan.nodes) if (node.kind === 'leaf') leafItems.set(physical, node.items);
  const blobs: LazyBlob[] = plan.blobs.map(({ id, bytes }) => ({ id, bytes, items: leafItems.get(id), size: bytes.length }));
  const held = journaled(plan.session.store.blobs);
  for (const leaf of plan.leaves) {
    const { node } = leaf;
    if (leaf.bytes) blobs.push({ id: leaf.id, bytes: leaf.bytes, items: node.items, size: leaf.bytes.length });
    // Its size is an estimate until encoded: the base's plus the new items' (an upper bound of what it grew by).
    else blobs.push({ id: leaf.id, encode: () => encodeNode(node), items: node.items, size: held.sizeOf(leaf.base) + leaf.patch.bytes.length });
  }
  return blobs;
}

/** A new blob as the journal logs it: whole (an updated leaf goes through journalLeaf). */
function journalBlob(plan: StorePlan, blob: { id: string; bytes: Uint8Array }): JournalBlob {
  return { store: plan.session.store.name, id: blob.id, bytes: blob.bytes };
}
