/** What both retrieval layers (vector store, ../search) need of transactions: the write guard, conflicts, per-transaction state. */
import { SopError, toSopError } from '../../errors/sop-error.js';
import type { Transaction } from '../../txn/transaction.js';

/**
 * A layer operation that writes several B-trees must never leave half its writes in a
 * transaction the caller could still commit (spec API-2): any failure once writing began rolls
 * the transaction back. Argument errors are raised before `op` runs, so they never get here.
 */
export async function guardWrite<T>(tx: Transaction, what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (error) {
    if (tx.state === 'active') await tx.rollback().catch(() => undefined); // the operation's error is the caller's
    throw toSopError(error, what);
  }
}

/**
 * Two trees of a layer disagree as this transaction reads them. Reads are not a snapshot: a
 * commit between two reads shows one tree before it and the other after, and the commit of this
 * transaction would fail validation anyway. So this is a CONFLICT to retry; were it a bug
 * instead, verify() reports the disagreement.
 */
export function changedUnder(what: string): SopError {
  return new SopError('CONFLICT', `${what}: a concurrent commit changed the store while this transaction read it; retry`);
}

/** Per-transaction state of a layer store, shared by every handle of it in that transaction. */
export class TxLocal<T> {
  private readonly map = new WeakMap<Transaction, Map<string, T>>();

  get(tx: Transaction, store: string, make: () => T): T {
    let stores = this.map.get(tx);
    if (!stores) this.map.set(tx, (stores = new Map()));
    let value = stores.get(store);
    if (value === undefined) stores.set(store, (value = make()));
    return value;
  }
}
