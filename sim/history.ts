import type { Op } from './checkers/list-append.js';
import type { SetOp } from './sets.js';

export type Outcome = 'ok' | 'fail' | 'info';

/** A bank or blob operation, recorded for the checkers that are not list-append. */
export interface BankOp {
  readonly kind: 'transfer' | 'audit';
  readonly outcome: Outcome;
  readonly sum?: number;
  readonly mode?: 'read' | 'nocheck';
}

/** Everything the workload saw, in completion order. */
export class History {
  readonly lists: Op[] = [];
  /** Puts and removals of key ranges in the small-node store 'sets' (sets.ts). */
  readonly sets: SetOp[] = [];
  readonly bank: BankOp[] = [];
  /** Errors that are not SopErrors: always a bug (spec API-1). */
  readonly untyped: string[] = [];
  readonly wrongReads: string[] = [];
  /** Scratch stores by name: how their creation ended, and whether a removal was acknowledged. */
  readonly stores = new Map<string, { created: Outcome; removed: Outcome | null; items: number }>();
  /** Erasure-coded runs (spec EC-1..EC-3): what the erasure-coding checker judges. */
  readonly ec = {
    /** Blob reads made while a drive was offline or some blob lacked a shard. */
    degradedReads: 0,
    /** Those of them that returned wrong bytes (never acceptable, EC-1). */
    wrongWhileDegraded: [] as string[],
    /** Operator repairs run during the fault phase (after a drive was replaced). */
    operatorRepairs: 0,
    /** The repair run once faults healed, or why it failed. */
    repair: null as { blobs: number; shardsRewritten: number; unrecoverable: number; unwritable: number } | null,
    repairError: null as string | null,
  };
  /** Replicated runs (spec REPL-1..REPL-5): what the replication checker judges. */
  readonly repl = {
    /** The replication status as each incarnation saw it, in order (opens and after client steps). */
    observed: [] as Array<{ incarnation: number; epoch: number; active: string; passive: string; at: number }>,
    /** Failovers seen (the active folder changed between two observations). */
    failovers: 0,
    /** Operator reinstates run during the fault phase, and how many failed (typed). */
    operatorReinstates: 0,
    operatorReinstateErrors: 0,
    /** The reinstate run once faults healed, or why it failed. */
    reinstate: null as { alreadyInSync: boolean; copied: number; deltas: number } | null,
    /** Reinstate rounds (full copy, delta, switch) that had commits started during them (REPL-3 online). */
    roundsWithCommits: {} as Record<string, number>,
    reinstateError: null as string | null,
  };
  /** Clustered: each process killed mid-commit after healing, and how long the others took to commit on its keys (CLU-6). */
  readonly peerDeaths: Array<{ point: string; waitedMs: number }> = [];
  counts = { ok: 0, fail: 0, info: 0 };
  private index = 0;

  nextIndex(): number {
    return this.index++;
  }

  count(outcome: Outcome): void {
    this.counts[outcome]++;
  }
}
