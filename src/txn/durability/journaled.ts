import { type LazyBlob, journaled } from '../../blobs/lazy-blobs.js';
import { encodeNode } from '../../codec/node-codec.js';
import { patchLiterals, diffOps } from '../../codec/patch.js';
import { SopError, toSopError } from '../../errors/sop-error.js';
import type { Journal } from '../../journal/journal.js';
import type { JournalBlob, JournalRecord, JournalSector } from '../../journal/record.js';
import type { StagedSectors } from '../../registry/registry.js';
import { SECTOR_CRC_BYTES } from '../../registry/sector.js';
import type { CommitSteps, Durability } from './durability.js';
import { type LazyLeaf, type StorePlan, commitLog, obsoleteRefs, publish } from './plan.js';

/**
 * Journal durability (spec JNL-1..JNL-4): nothing reaches storage before the commit point, which
 * is one synced record in the journal holding the commit's blobs, leaf item changes and registry
 * sector images; the store then holds them in memory, and a checkpoint writes the files later.
 */
export class JournaledDurability implements Durability {
  readonly logsItemChanges = true;

  constructor(
    private readonly steps: CommitSteps,
    private readonly journal: Journal,
  ) {}

  /** The blobs travel in the record: nothing is written before the commit point (JNL-2). */
  async prepare(): Promise<void> {}

  /**
   * Under the journal lock, stage the registry sectors, append the record (the commit point: one
   * fdatasync), then adopt blobs and sectors in memory and publish. A checkpoint writes them later (JNL-3).
   */
  async commit(plans: readonly StorePlan[]): Promise<void> {
    const { ctx } = this.steps;
    const journal = this.journal;
    await journal.exclusive(async () => {
      const log = commitLog(ctx, this.steps.input.tid, plans);
      const staged: StagedSectors[] = [];
      for (const plan of plans) staged.push(await plan.session.store.registry.stageForJournal(plan.changes));
      await this.reachJournalPoint(journalRecord(log.tid, log.seq, plans, staged));
      await ctx.env.point?.('journal.afterRecord');
      try {
        for (const [i, plan] of plans.entries()) {
          journaled(plan.session.store.blobs).putLazily(lazyBlobs(plan));
          plan.session.store.registry.applyStaged(staged[i]!);
          journal.applied(plan.session.store, plan.info !== null);
        }
        await ctx.env.point?.('journal.afterApply');
      } catch (error) {
        // In memory only, so not expected to fail; if it does, the record decides at the next open.
        journal.poison();
        ctx.commitNeedsRecovery(log.tid, error);
        throw new SopError('IO', `transaction ${log.tid} is committed durably but could not be applied; it is replayed on the next open`, { cause: error });
      }
      publish(ctx, plans);
      // Obsolete blobs never written are forgotten; files go at the checkpoint (JNL-3).
      for (const plan of plans) journaled(plan.session.store.blobs).removeLazily(plan.obsolete);
    });
  }

  /** As the priority log's commit point, for a journal record: a failed write leaves no record behind, durably. */
  private async reachJournalPoint(record: JournalRecord): Promise<void> {
    const { ctx, locks, input } = this.steps;
    let appending = false;
    try {
      const failure = ctx.failure();
      if (failure) throw failure;
      await locks.verify(input.maxTimeMs);
      appending = true;
      await this.journal.write(record);
      this.steps.committed();
    } catch (error) {
      try {
        if (appending) await this.journal.discard();
      } catch (cleanupError) {
        this.steps.committed(); // outcome unknown: the next open replays the record if it is whole
        this.journal.poison();
        ctx.commitNeedsRecovery(record.tid, cleanupError);
        throw new SopError('IO', `commit of ${record.tid} failed and its outcome is unknown until the database is reopened`, { cause: error });
      }
      await this.steps.undoPhase1();
      throw toSopError(error, 'write journal record');
    }
  }

  /**
   * A step log (stores this transaction created) is marked done, so a reappearing copy cannot
   * undo them; locks go; a checkpoint runs when one is due.
   */
  async finish(plans: readonly StorePlan[]): Promise<void> {
    const { ctx, input, locks } = this.steps;
    if (input.log.exists) {
      try {
        await input.log.append({ type: 'done', obsolete: [] });
        await input.log.remove();
      } catch (error) {
        // The record stays above the mark (no checkpoint from now on): replay deletes the step log (JNL-4).
        this.journal.poison();
        ctx.commitNeedsRecovery(input.tid, error);
        return;
      }
    }
    await locks.releaseAll();
    for (const plan of plans) for (const id of plan.obsolete) ctx.nodes.forget(id);
    await this.checkpointWhenDue();
  }

  /**
   * A checkpoint that is due starts without this commit waiting for it (JNL-3). One is under way:
   * the commit waits for it only when the records since its cut are twice a threshold, so memory
   * and the journal stay bounded when commits outrun checkpoints.
   */
  private async checkpointWhenDue(): Promise<void> {
    const { ctx } = this.steps;
    const journal = this.journal;
    const running = journal.checkpointing;
    if (running) {
      if (journal.over(2)) await running.catch(() => undefined); // its failure is reported where it started
      return;
    }
    // A failed one keeps its records: a later one covers them.
    if (journal.due) void journal.checkpoint().catch((e: unknown) => ctx.incident('checkpoint', e));
  }

  /** Nothing was written before the commit point (JNL-2). */
  async undo(): Promise<boolean> {
    return true;
  }
}

function journalRecord(tid: string, seq: number, plans: readonly StorePlan[], staged: readonly StagedSectors[]): JournalRecord {
  return {
    tid,
    seq,
    stores: plans.map((p) => ({ name: p.session.store.name, rootId: p.session.store.info.rootId, info: p.info })),
    blobs: plans.flatMap((p) => [...p.blobs.map((b) => journalBlob(p, b)), ...p.leaves.map((l) => journalLeaf(p, l))]),
    sectors: plans.flatMap((p, i) => staged[i]!.images.map((e) => journalSector(p, e))),
    obsolete: obsoleteRefs(plans),
  };
}

/**
 * A changed sector as the journal logs it: a patch of its image from the commit before that
 * changed it in this journal cycle (replay rebuilds that one first), else whole (JNL-1).
 */
function journalSector(plan: StorePlan, image: StagedSectors['images'][number]): JournalSector {
  const store = plan.session.store;
  const whole = { store: store.name, segment: image.segment, sector: image.sector, bytes: image.bytes };
  const base = store.registry.unflushedImage(image.key);
  const ops = base ? diffOps(base, image.bytes, SECTOR_CRC_BYTES) : [];
  return ops.length === 0 ? whole : { ...whole, bytes: patchLiterals(image.bytes, ops), ops };
}

/**
 * An updated leaf as the journal logs it: as item changes of the blob it replaces when that blob
 * was committed since the last checkpoint's cut, with the very items the leaf was copied from
 * (replay rebuilds it first, from the same journal), else encoded now and logged whole (JNL-1).
 * A base on disk would save the whole leaf in the record, but tie the commit to that file: rotted
 * with no replica or parity to repair it, it took the later commits of the leaf with it
 * (simulator seeds 1862600028, 1862600512 --journal), where a whole leaf survives it.
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
    // Its size is an estimate until encoded: the base's (held: an item patch's base is) plus the new items' (an upper bound of what it grew by).
    else blobs.push({ id: leaf.id, encode: () => encodeNode(node), items: node.items, size: held.sizeOf(leaf.base) + leaf.patch.bytes.length });
  }
  return blobs;
}

/** A new blob as the journal logs it: whole (an updated leaf goes through journalLeaf). */
function journalBlob(plan: StorePlan, blob: { id: string; bytes: Uint8Array }): JournalBlob {
  return { store: plan.session.store.name, id: blob.id, bytes: blob.bytes };
}
