import type { BNode, LeafNode } from '../../btree/node.js';
import type { LeafItemPatch } from '../../codec/node-codec.js';
import type { HandleChange } from '../../registry/registry.js';
import type { StoreInfo } from '../../store/store-info.js';
import type { TxContext } from '../context.js';
import type { BlobRef, PriorityLog, StepLog } from '../logs.js';
import type { TreeSession } from '../tree-session.js';

export interface CommitInput {
  readonly tid: string;
  readonly sessions: readonly TreeSession[];
  readonly log: StepLog;
  readonly maxTimeMs: number;
  readonly signal: AbortSignal | undefined;
  /** Physical ids of this transaction's blobs (one fan-out folder per commit). */
  readonly newBlobId: () => string;
}

/** What a commit changes in one store, worked out in phase 1 with every lock held. */
export interface StorePlan {
  readonly session: TreeSession;
  readonly changes: HandleChange[];
  readonly blobs: Array<{ id: string; bytes: Uint8Array }>;
  /**
   * Updated leaves not encoded at commit (a durability that logs item changes, the journal).
   * Each is logged as item changes of the blob it replaces when that blob is of this journal
   * cycle, else encoded then and logged whole; either way the store holds it until the
   * checkpoint encodes it (JNL-1, JNL-2).
   */
  readonly leaves: LazyLeaf[];
  readonly obsolete: string[];
  readonly nodes: Array<{ physical: string; node: BNode }>;
  info: StoreInfo | null;
}

export interface LazyLeaf {
  readonly id: string;
  readonly node: LeafNode;
  readonly patch: LeafItemPatch;
  /** The physical id of the version it replaces. */
  readonly base: string;
  /** Its encoding, once the record needed it whole. */
  bytes: Uint8Array | null;
}

/**
 * The commit's sequence number and each changed store's new info (count, seq, time), as the
 * priority log records them; the journal's record takes the same seq (TX-8, JNL-1).
 */
export function commitLog(ctx: TxContext, tid: string, plans: readonly StorePlan[]): PriorityLog {
  const seq = ctx.nextSeq(Math.max(0, ...plans.map((p) => p.session.store.info.commitSeq)));
  const now = ctx.env.clock.now();
  for (const plan of plans) {
    const delta = plan.session.tracker.countDelta;
    const info = plan.session.store.info;
    if (delta !== 0) plan.info = { ...info, count: info.count + delta, commitSeq: seq, updatedAt: now };
  }
  return {
    tid,
    seq,
    stores: plans.map((p) => ({ name: p.session.store.name, count: p.info?.count ?? -1, changes: p.changes })),
    obsolete: obsoleteRefs(plans),
  };
}

export function obsoleteRefs(plans: readonly StorePlan[]): BlobRef[] {
  return plans.flatMap((p) => p.obsolete.map((id) => ({ store: p.session.store.name, id })));
}

/** Makes a durable commit visible to this process at once: registry, store infos, node cache (spec ACID-2). */
export function publish(ctx: TxContext, plans: readonly StorePlan[]): void {
  for (const plan of plans) {
    plan.session.store.registry.publish(plan.changes);
    if (plan.info) plan.session.store.info = plan.info;
    for (const { physical, node } of plan.nodes) ctx.nodes.remember(physical, node);
  }
}
