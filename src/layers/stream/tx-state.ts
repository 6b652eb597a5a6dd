import type { Transaction } from '../../txn/transaction.js';

/**
 * All handles on one store within one transaction share one B-tree cursor (the engine keeps one
 * session per store per transaction), so every multi-step operation of the stream store (find
 * then read, seek then walk) runs under this lock; streams interleave between operations only.
 */
export class OpLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(op);
    this.tail = result.catch(() => undefined); // orders the operations; each caller gets its own error
    return result;
  }
}

/** What a transaction knows about one stream store beyond the B-trees: its lock and its live write streams. */
export interface TxStoreState {
  readonly lock: OpLock;
  /** `name` + NUL + generation of every write stream of this transaction still running. */
  readonly liveGens: Set<string>;
}

const states = new WeakMap<Transaction, Map<string, TxStoreState>>();

export function txStoreState(tx: Transaction, store: string): TxStoreState {
  let perTx = states.get(tx);
  if (!perTx) states.set(tx, (perTx = new Map()));
  let state = perTx.get(store);
  if (!state) perTx.set(store, (state = { lock: new OpLock(), liveGens: new Set() }));
  return state;
}

export function genId(name: string, gen: number): string {
  return `${name}\u0000${gen}`;
}
