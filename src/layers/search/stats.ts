/**
 * Collection statistics, exact under concurrent commits and crashes (spec BM25-2): they change
 * in the same transaction as the postings, and each statistic is the sum of STATS_SHARDS parts.
 * A transaction writes only its own part (chosen at random, once), so two concurrent ones
 * conflict on a statistic only when they drew the same part; the engine's merge and
 * db.transaction's retry settle that. Reads are point lookups of every part: a concurrent
 * change to another statistic does not void them.
 */
import type { Env } from '../../ports/env.js';
import type { Transaction } from '../../txn/transaction.js';
import { TxLocal } from '../vector/tx-helpers.js';
import { type SearchTrees, statKey } from './trees.js';

export const STATS_SHARDS = 8;

const shards = new TxLocal<number>();

/** The part this transaction writes for index `name` (shared by every handle in the transaction). */
export function shardOf(tx: Transaction, name: string, env: Env): number {
  return shards.get(tx, name, () => env.random.nextU32() % STATS_SHARDS);
}

/** Sum of a statistic over its parts: `term`'s document frequency, or with '' the total length. */
export async function readStat(trees: SearchTrees, term: string): Promise<number> {
  let sum = 0;
  for (let shard = 0; shard < STATS_SHARDS; shard++) {
    if (await trees.stats.find(statKey(term, shard))) sum += (await trees.stats.getCurrentValue()) ?? 0;
  }
  return sum;
}

/** Adds `delta` to this transaction's part (`shard`) of a statistic; a part that comes to 0 is removed. */
export async function addStat(trees: SearchTrees, term: string, shard: number, delta: number): Promise<void> {
  if (delta === 0) return;
  const key = statKey(term, shard);
  if (!(await trees.stats.find(key))) {
    await trees.stats.add(key, delta);
    return;
  }
  const value = ((await trees.stats.getCurrentValue()) ?? 0) + delta;
  if (value === 0) await trees.stats.removeCurrentItem();
  else await trees.stats.updateCurrentValue(value);
}
