/**
 * The B-trees of a search index `name`, all inside the caller's transaction:
 *
 *   name          docs:     doc id -> { n: length in terms, t: [term, tf][] } (what to undo on replace/remove)
 *   name@post     postings: [term, doc id] -> [tf, doc length] (a term's postings are one key range,
 *                 and carry what scoring needs, so a search reads no doc record)
 *   name@stats    [term, shard] -> part of the term's document frequency;
 *                 [0, shard]    -> part of the total length (numbers sort before strings)
 *
 * The number of documents is the docs tree's count. Statistics are split into STATS_SHARDS
 * parts; a transaction adds its changes to one part, chosen at random, so two transactions
 * indexing documents with common terms rarely write the same statistic (stats.ts).
 */
import type { Btree } from '../../database/btree.js';
import type { Transaction } from '../../txn/transaction.js';
import type { LayerHost } from '../host.js';

export interface DocRecord {
  /** Document length: number of terms, repeats included. */
  n: number;
  /** Distinct terms and their frequencies, in first-appearance order. */
  t: Array<[term: string, tf: number]>;
}

export type PostingKey = [term: string, doc: string];
export type Posting = [tf: number, length: number];
export type StatKey = [termOrZero: string | 0, shard: number];

export interface SearchTrees {
  docs: Btree<string, DocRecord>;
  post: Btree<PostingKey, Posting>;
  stats: Btree<StatKey, number>;
}

export const MAIN_TREE_OPTIONS = { slotLength: 200, isUnique: true, valueInNode: true } as const;

export async function openParts(host: LayerHost, tx: Transaction, name: string, docs: Btree<string, DocRecord>): Promise<SearchTrees> {
  return {
    docs,
    post: await host.part<PostingKey, Posting>(tx, name, 'post', { slotLength: 500, isUnique: true, valueInNode: true }),
    stats: await host.part<StatKey, number>(tx, name, 'stats', { slotLength: 500, isUnique: true, valueInNode: true }),
  };
}
