import type { NodeCache } from '../cache/node-cache.js';
import type { ClusterSync } from '../cluster/cluster-sync.js';
import type { Env } from '../ports/env.js';
import type { StoreRepository } from '../store/store-repository.js';
import type { KeyedMutex } from '../util/keyed-mutex.js';
import type { LocalLocks } from './locks.js';

/** What a transaction needs from its database. */
export interface TxContext {
  readonly env: Env;
  readonly translogs: string;
  /** Prefix of every Coordinator key of this database (its absolute folder). */
  readonly namespace: string;
  readonly repo: StoreRepository;
  readonly nodes: NodeCache;
  /** Serialises count updates per store from the priority log to publishing (spec TX-8). */
  readonly storeMutex: KeyedMutex;
  /** Node and item locks of this process's transactions (spec LOCK-1). */
  readonly locks: LocalLocks;
  /** The next commit sequence number, above `floor` (the highest one seen on disk, clustered mode). */
  nextSeq(floor?: number): number;
  /** Clustered mode: view refresh, cluster locks, restart detection (spec CLU-1..CLU-5); null standalone. */
  readonly cluster: ClusterSync | null;
  /** Journal mode (spec JNL-1..JNL-4): commits are durable by one record each; null otherwise. */
  readonly journal: import('../journal/journal.js').Journal | null;
  /** Clustered mode: redo what a Coordinator restart left unapplied, once per restart (spec CLU-5). */
  restartFastPath(): Promise<void>;
  /** A commit passed its commit point but could not apply it: recovery must redo it (spec REC-5). */
  commitNeedsRecovery(tid: string, error: unknown): void;
  /** Set once a commit failed past its commit point: no further commit may reach its own (spec REC-5). */
  failure(): Error | null;
  /** The owner string of a transaction's locks: its id, or clustered `<tid>@<process id>` (CLU-6). */
  lockOwner(tid: string): string;
  /** Clustered: whether a lock owner is a dead process (CLU-6); always false standalone. */
  isDeadOwner(owner: string): Promise<boolean>;
  /**
   * Clustered: recovers the transaction of a dead owner (redo, or fenced undo) and breaks its
   * lock on `key`, so a live transaction goes on in seconds, not after the lock's TTL (CLU-6).
   */
  takeOver(owner: string, key: string): Promise<void>;
  /** Reports a failure of background work (cleanup, checkpoint) that did not fail the caller. */
  readonly incident: import('../util/incidents.js').IncidentSink;
  transactionEnded(tid: string): void;
  /** A transaction of this process that has not ended yet. */
  isLocal(tid: string): boolean;
}
