/**
 * `ix.verify()`: postings and statistics agree exactly with the documents (spec BM25-2): every
 * document's terms have their postings (frequency and length), no posting lacks its document,
 * every document frequency and the total length equal what the documents give.
 */
import { STATS_SHARDS } from './stats.js';
import { type SearchTrees, postingKey, splitStatKey } from './trees.js';

export interface SearchIndexCheck {
  documents: number;
  postings: number;
  /** Every disagreement found (empty: the index matches its documents). */
  problems: string[];
}

export async function verifyIndex(trees: SearchTrees): Promise<SearchIndexCheck> {
  const problems: string[] = [];
  const df = new Map<string, number>();
  let documents = 0;
  let totalLength = 0;
  let expectedPostings = 0;
  for await (const [id, doc] of trees.docs.range()) {
    documents++;
    totalLength += doc.n;
    let sum = 0;
    for (const [term, tf] of doc.t) {
      sum += tf;
      expectedPostings++;
      df.set(term, (df.get(term) ?? 0) + 1);
      const posting = (await trees.post.find(postingKey(term, id))) ? await trees.post.getCurrentValue() : undefined;
      if (!posting) problems.push(`${id}: no posting for ${JSON.stringify(term)} (lost from the index)`);
      else if (posting[0] !== tf || posting[1] !== doc.n) problems.push(`${id}: posting for ${JSON.stringify(term)} is ${JSON.stringify(posting)}, not [${tf}, ${doc.n}]`);
    }
    if (sum !== doc.n) problems.push(`${id}: its term frequencies sum to ${sum}, its length is ${doc.n}`);
  }
  if (documents !== trees.docs.count) problems.push(`the docs tree counts ${trees.docs.count} documents but holds ${documents}`);
  const postings = trees.post.count;
  if (postings !== expectedPostings) problems.push(`${postings} postings for ${expectedPostings} (document, term) pairs (ghost postings)`);
  const stats = new Map<string, number>();
  for await (const [key, value] of trees.stats.range()) {
    const [term, shard] = splitStatKey(key);
    if (!(Number.isInteger(shard) && shard >= 0 && shard < STATS_SHARDS) || !Number.isInteger(value) || value === 0) problems.push(`statistic ${JSON.stringify([term, shard])} = ${value} is malformed`);
    stats.set(term, (stats.get(term) ?? 0) + value);
  }
  if ((stats.get('') ?? 0) !== totalLength) problems.push(`total length is ${stats.get('') ?? 0}, the documents give ${totalLength}`);
  for (const [term, n] of df) if ((stats.get(term) ?? 0) !== n) problems.push(`document frequency of ${JSON.stringify(term)} is ${stats.get(term) ?? 0}, the documents give ${n}`);
  for (const [term, n] of stats) if (term !== '' && !df.has(term) && n !== 0) problems.push(`document frequency of ${JSON.stringify(term)} is ${n}, no document holds it`);
  return { documents, postings, problems };
}
