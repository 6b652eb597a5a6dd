import { encodeNode, leafItemPatch } from '../codec/node-codec.js';
import type { LeafNode } from '../btree/node.js';
import { SopError, assert } from '../errors/sop-error.js';
import { type Handle, activePhysical, flipped, newHandle } from '../registry/handle.js';
import type { TxContext } from './context.js';
import { LockSet } from './locks.js';
import { redoDeadCommits, redoUnappliedCounts } from './cluster-recovery.js';
import { replay } from './replay.js';
import type { Durability } from './durability/durability.js';
import type { CommitInput, StorePlan } from './durability/plan.js';
import { durabilityFor } from './durability/select.js';
import type { TreeSession } from './tree-session.js';

const MAX_ATTEMPTS = 30;

/**
 * Two-phase commit of a write transaction (spec TX-1..TX-9, sop-engine.md §C):
 * phase 1 takes item and node locks, validates the read set (merging when other items of the
 * same nodes changed) and plans each store's new blobs and registry changes; the database's
 * durability (durability/) then takes them past the commit point, applies, publishes and
 * cleans up: in place (blobs, priority log, registry flip) or through the journal (one record).
 */
export class Commit {
  private readonly locks: LockSet;
  private readonly durability: Durability;
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
    this.deadline = ctx.env.clock.monotonic() + input.maxTimeMs;
    this.durability = durabilityFor({
      ctx,
      input,
      locks: this.locks,
      committed: () => {
        this.committed = true;
      },
      undoPhase1: () => this.undoPhase1(),
      checkDeadline: () => this.checkDeadline(),
    });
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
    await this.durability.prepare(this.plans);
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
      const patch = this.durability.logsItemChanges && staged.action === 'update' && node.kind === 'leaf' ? leafItemPatch(node) : undefined;
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
      await this.durability.commit(this.plans);
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
    await this.durability.finish(this.plans);
  }

  /**
   * Before the commit point nothing is visible: delete the new blobs and release the locks.
   * If a deletion fails, `leftovers` keeps the step log so a sweep finishes the undo (spec TX-10).
   */
  private async undoPhase1(): Promise<void> {
    if (this.committed || this.undone) return;
    this.undone = true;
    await this.locks.releaseAll();
    if (!(await this.durability.undo(this.plans))) this.leftovers = true; // the step log stays: a sweep deletes them (TX-10)
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
