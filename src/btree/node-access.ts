import type { BNode } from './node.js';

/**
 * What the B-tree algorithms need from storage. The transaction layer implements it
 * (src/txn/node-staging.ts): reads go through the registry and caches and are recorded for
 * commit-time validation; writes are staged in the transaction until commit.
 */
export interface NodeAccess {
  /** Logical id of the root. Fixed for the life of the store (spec BTREE-3). */
  readonly rootId: string;
  /** The node as this transaction sees it. Throws SopError('CORRUPT') if it cannot be read. */
  get(id: string): Promise<BNode>;
  /**
   * Optional fast path: the node `get` would return, when it is at hand without I/O (staged or
   * cached), with the same side effects as `get`; undefined otherwise (then callers use `get`).
   */
  peek?(id: string): BNode | undefined;
  /**
   * A transaction-private copy of the node that the caller may mutate in place. The node is
   * marked updated (or stays added). Calling it again returns the same copy.
   */
  mutable(id: string): Promise<BNode>;
  /**
   * Stages a whole new body for an existing id (used when the root changes kind on a split or a
   * collapse: the root id never changes). Afterwards `get`/`mutable` return this body.
   */
  put(node: BNode): void;
  /** Stages a brand-new node; `node.id` must come from `newId()`. */
  add(node: BNode): void;
  /** Stages the removal of a node (never the root). */
  remove(id: string): void;
  /** A fresh logical id. */
  newId(): string;
}
