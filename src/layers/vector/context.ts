/** What every part of a vector store handle works with: its trees, options and per-transaction state. */
import type { Env } from '../../ports/env.js';
import type { Transaction } from '../../txn/transaction.js';
import type { ListContent } from './list-cache.js';
import type { VectorLayer } from './options.js';
import { TxLocal } from './tx-helpers.js';
import type { VectorTrees } from './trees.js';

/** Stamps per list: a transaction writes one of them, chosen at random, so two rarely collide. */
export const STAMP_SHARDS = 4;

export interface VectorTxState {
  /** The stamp shard this transaction writes. */
  readonly shard: number;
  /** Lists (`ver:cid`) this transaction changed: their stamp is already fresh, and queries read them from the tree. */
  readonly dirty: Set<string>;
  /** List slots (trees.ts: slotOf, version % 2) this transaction changed: it caches no list it reads from them (lists.ts: listContent). */
  readonly slotsWritten: Set<number>;
  /** Lists this transaction read from the trees, for the list cache once it commits (lists.ts: listContent). */
  readonly toCache: Map<string, ListContent>;
}

const txStates = new TxLocal<VectorTxState>();

export interface VectorContext {
  readonly env: Env;
  readonly tx: Transaction;
  readonly name: string;
  readonly layer: VectorLayer;
  readonly trees: VectorTrees;
}

/** Shared by every handle of the store in this transaction, so all of them see the same dirty lists. */
export function txState(ctx: VectorContext): VectorTxState {
  return txStates.get(ctx.tx, ctx.name, () => ({ shard: ctx.env.random.nextU32() % STAMP_SHARDS, dirty: new Set(), slotsWritten: new Set(), toCache: new Map() }));
}

export function listKey(ver: number, cid: number): string {
  return `${ver}:${cid}`;
}
