import type { TxContext } from '../context.js';
import type { LockSet } from '../locks.js';
import type { CommitInput, StorePlan } from './plan.js';

/**
 * How a commit becomes durable (spec TX-1..TX-10, JNL-1..JNL-4): the one interface the commit
 * (commit.ts) calls, whatever the database's mode. The commit owns locking, validation and
 * planning; a durability owns what reaches storage, in which order, and where its commit point
 * is. Two exist today: in place (blobs, then the priority log, then the registry flip) and the
 * journal (one synced record; a checkpoint writes the files later).
 */
export interface Durability {
  /** Whether updated leaves are planned as item changes (LazyLeaf) instead of encoded at once. */
  readonly logsItemChanges: boolean;
  /** Phase 1, with every lock held and the plans made: what must be on storage before the commit point. */
  prepare(plans: readonly StorePlan[]): Promise<void>;
  /** Under the store locks: reaches the commit point (then `steps.committed()`), applies and publishes. */
  commit(plans: readonly StorePlan[]): Promise<void>;
  /** After a commit that succeeded: done records, locks released, cleanup. Never throws for cleanup. */
  finish(plans: readonly StorePlan[]): Promise<void>;
  /** Before the commit point, after the locks went: removes what `prepare` wrote. False when some of it stays (the step log must stay, TX-10). */
  undo(plans: readonly StorePlan[]): Promise<boolean>;
}

/** What a durability may use of the commit that runs it. */
export interface CommitSteps {
  readonly ctx: TxContext;
  readonly input: CommitInput;
  readonly locks: LockSet;
  /** The commit point is passed (or its outcome is unknown): from now on it is never undone (LOG-2). */
  committed(): void;
  /** Undoes phase 1: releases the locks and removes what `prepare` wrote (TX-10). */
  undoPhase1(): Promise<void>;
  /** Throws TIMEOUT when the commit ran past maxTimeMs or its signal aborted. */
  checkDeadline(): void;
}
