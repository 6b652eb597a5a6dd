/**
 * The B-trees of a search index `name`, all inside the caller's transaction:
 *
 *   name          docs:     doc id -> { n: length in terms, t: [term, tf][] } (what to undo on replace/remove)
 *   name@post     postings: term NUL doc id -> [tf, doc length] (a term's postings are one key
 *                 range, and carry what scoring needs, so a search reads no doc record)
 *   name@stats    term NUL shard -> part of the term's document frequency;
 *                 NUL shard      -> part of the total length (no term is empty)
 *
 * Keys are strings (terms never hold NUL: analyzer.ts), the cheapest keys to compare and copy.
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

/** `${term}\0${doc}` (postingKey). */
export type PostingKey = string;
export type Posting = [tf: number, length: number];
/** `${term}\0${shard}`, term '' for the total length (statKey). */
export type StatKey = string;

export function postingKey(term: string, doc: string): PostingKey {
  return `${term}\u0000${doc}`;
}

/** The document of a posting key. */
export function postingDoc(key: PostingKey): string {
  return key.slice(key.indexOf('\u0000') + 1);
}

/** Bounds of a term's postings. */
export function postingRange(term: string): { gte: PostingKey; lt: PostingKey } {
  return { gte: `${term}\u0000`, lt: `${term}\u0001` };
}

export function statKey(term: string, shard: number): StatKey {
  return `${term}\u0000${shard}`;
}

/** [term ('' for the total length), shard] of a statistic's key. */
export function splitStatKey(key: StatKey): [string, number] {
  const at = key.lastIndexOf('\u0000');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

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
