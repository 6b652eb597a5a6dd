import { SopError, toSopError } from '../../errors/sop-error.js';
import { type PriorityLog, priorityLogExists, removePriorityLog, writePriorityLog } from '../logs.js';
import type { CommitSteps, Durability } from './durability.js';
import { type StorePlan, commitLog, obsoleteRefs, publish } from './plan.js';

/**
 * In-place durability (spec TX-1..TX-10, LOG-1..LOG-3): phase 1 writes every new blob under a
 * fresh physical id, behind a prepare record in the step log; the commit point is the durable
 * priority log; phase 2 flips the registry (copy-on-write sectors) and the store infos, durably,
 * then publishes; cleanup deletes what the commit made obsolete. Clustered commits run here.
 */
export class InPlaceDurability implements Durability {
  readonly logsItemChanges = false;
  /** Clustered: this process's liveness generation when the commit began (CLU-6). */
  private readonly generation: number;

  constructor(private readonly steps: CommitSteps) {
    this.generation = steps.ctx.cluster?.liveness.generation ?? 0;
  }

  async prepare(plans: readonly StorePlan[]): Promise<void> {
    const { ctx, input } = this.steps;
    const blobs = plans.flatMap((p) => p.blobs.map((b) => ({ store: p.session.store.name, id: b.id })));
    await input.log.append({ type: 'prepare', blobs });
    await ctx.env.point?.('commit.afterPrepareLog');
    for (const plan of plans) await plan.session.store.blobs.putAll(plan.blobs);
    await ctx.env.point?.('commit.afterBlobs');
    this.steps.checkDeadline();
  }

  async commit(plans: readonly StorePlan[]): Promise<void> {
    const log = commitLog(this.steps.ctx, this.steps.input.tid, plans);
    await this.reachCommitPoint(log);
    await this.steps.ctx.env.point?.('commit.afterPlg');
    await this.confirmAlive(log.tid);
    await this.apply(log, plans);
  }

  /**
   * Writes the priority log. If that fails, the log must be gone durably before phase 1 is
   * undone: a log that survived a crash would be redone onto deleted blobs (spec LOG-2).
   */
  private async reachCommitPoint(log: PriorityLog): Promise<void> {
    const { ctx, locks, input } = this.steps;
    let creating = false;
    try {
      const failure = ctx.failure();
      if (failure) throw failure; // counts and images may be stale after a failed apply (spec REC-5)
      this.steps.checkDeadline();
      await locks.verify(input.maxTimeMs);
      await this.assertAlive();
      creating = true;
      await writePriorityLog(ctx.env, ctx.translogs, log);
      this.steps.committed();
    } catch (error) {
      // Another process took this commit point (a fence, CLU-6): this process was presumed dead
      // while paused. The fence is not ours to remove; nothing was committed.
      if (creating && (error as { code?: string }).code === 'EEXIST') {
        await this.steps.undoPhase1();
        throw new SopError('CONFLICT', `transaction ${log.tid} was recovered by another process while this one was unresponsive; retry`, { cause: error });
      }
      try {
        if (creating) await removePriorityLog(ctx.env, ctx.translogs, log.tid);
        await ctx.env.fs.syncDir(ctx.translogs);
      } catch (cleanupError) {
        this.steps.committed(); // outcome unknown: keep every blob, let recovery decide
        ctx.commitNeedsRecovery(log.tid, cleanupError);
        throw new SopError('IO', `commit of ${log.tid} failed and its outcome is unknown until the database is reopened`, { cause: error });
      }
      await this.steps.undoPhase1();
      throw toSopError(error, 'write priority log');
    }
  }

  /** Phase 2 proper: registry flip and store infos, durable, then published at once (spec ACID-2). */
  private async apply(log: PriorityLog, plans: readonly StorePlan[]): Promise<void> {
    const { ctx } = this.steps;
    try {
      const ours = this.stillOurs(log.tid);
      for (const plan of plans) {
        await plan.session.store.registry.write(log.tid, plan.changes, 'commit', ours?.check);
        if (ours && !ours.state.ours) return; // redone by another process, and maybe built on since: nothing here is current
      }
      await ctx.env.point?.('commit.afterFlip');
      for (const plan of plans) if (plan.info) await ctx.repo.writeInfo(plan.session.store, plan.info);
      await ctx.env.point?.('commit.afterStoreInfo');
    } catch (error) {
      ctx.commitNeedsRecovery(log.tid, error);
      throw new SopError('IO', `transaction ${log.tid} is committed durably but could not be applied; it is redone on the next open`, {
        cause: error,
      });
    }
    publish(ctx, plans);
  }

  /** Marks the step log done, releases locks, deletes what the commit made obsolete (spec LOG-3). */
  async finish(plans: readonly StorePlan[]): Promise<void> {
    const { ctx, input, locks } = this.steps;
    try {
      await input.log.append({ type: 'done', obsolete: obsoleteRefs(plans) });
    } catch (error) {
      // Without the done record the priority log must stay authoritative, so the node locks
      // stay held and the database stops accepting commits until recovery (spec REC-5).
      ctx.commitNeedsRecovery(input.tid, error);
      return;
    }
    await ctx.env.point?.('commit.afterDone');
    // A priority log left behind is redone by recovery, which finds every change applied (REC-2).
    await removePriorityLog(ctx.env, ctx.translogs, input.tid).catch((e: unknown) => ctx.incident(`cleanup of ${input.tid}`, e));
    await locks.releaseAll();
    try {
      for (const plan of plans) {
        for (const id of plan.obsolete) ctx.nodes.forget(id);
        await plan.session.store.blobs.removeAll(plan.obsolete, true);
      }
      await ctx.env.point?.('commit.afterCleanup');
      await input.log.remove();
    } catch (error) {
      // Cleanup is redone from the step log by recovery; the commit itself succeeded.
      ctx.incident(`cleanup of ${input.tid}`, error);
    }
  }

  /** Deletes the new blobs; a deletion that fails leaves them to a sweep of the step log (spec TX-10). */
  async undo(plans: readonly StorePlan[]): Promise<boolean> {
    let whole = true;
    for (const plan of plans) {
      try {
        await plan.session.store.blobs.removeAll(plan.blobs.map((b) => b.id), true);
      } catch (error) {
        whole = false;
        this.steps.ctx.incident(`undo of ${this.steps.input.tid}`, error);
      }
    }
    return whole;
  }

  /**
   * Clustered: whether this commit's priority log is still there, asked with the registry
   * sectors held. This process may be presumed dead after confirmAlive (a Redis restart dropping
   * its liveness key while it waits for sectors); another process then redoes the transaction and
   * removes the log, and a later commit may remove a node this one adds. Applying the add then
   * would resurrect it (REC-2, the stale redo of seed 1981525731 seen from the owner's side).
   */
  private stillOurs(tid: string): { check: () => Promise<boolean>; state: { ours: boolean } } | undefined {
    const { ctx } = this.steps;
    if (!ctx.cluster) return undefined;
    const state = { ours: true };
    return { state, check: async () => (state.ours = await priorityLogExists(ctx.env, ctx.translogs, tid)) };
  }

  /**
   * Clustered: this process was not presumed dead since the commit began (its liveness key was
   * never lost), so no other process recovered this transaction (CLU-6). Before the commit point.
   */
  private async assertAlive(): Promise<void> {
    const liveness = this.steps.ctx.cluster?.liveness;
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
    const { ctx } = this.steps;
    const liveness = ctx.cluster?.liveness;
    if (!liveness || (await liveness.stillAlive(this.generation).catch(() => false))) return; // unknown counts as lost: recovery decides
    const error = new SopError('IO', `transaction ${tid} reached its commit point while this process was presumed dead; its outcome is decided by recovery`);
    ctx.commitNeedsRecovery(tid, error);
    throw error;
  }
}
