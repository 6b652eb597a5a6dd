/**
 * BM25 (spec BM25-1). For a query with distinct terms t_1..t_T (in first-appearance order,
 * each with its count q_j in the query):
 *
 *   score(D) = Σ_j  q_j · idf(t_j) · f·(k1 + 1) / (f + k1·(1 − b + b·|D| / avgdl))
 *   idf(t)   = ln(1 + (N − n(t) + 0.5) / (n(t) + 0.5))          (Lucene's)
 *
 * f the term's frequency in D, |D| its length in terms, avgdl the mean length, N the number of
 * documents, n(t) those containing t; the sum runs in j order (so an oracle summing the same way
 * gets the same floating-point numbers). Ranking: score descending, then id ascending.
 *
 * Retrieval is exact top-k with MaxScore pruning: terms are read in decreasing order of their
 * largest possible contribution q·idf·(k1 + 1); once the contributions still to come cannot lift
 * a document outside the current candidates to the k-th partial score, the remaining terms are
 * only looked up for the candidates that can still make it, instead of read in full.
 */
import { TopK } from '../vector/top-k.js';
import { readStat } from './stats.js';
import { type SearchTrees, postingDoc, postingKey, postingRange } from './trees.js';

export interface Bm25Params {
  k1: number;
  b: number;
}

export interface SearchHit {
  id: string;
  score: number;
}

interface QueryTerm {
  term: string;
  /** Occurrences in the query. */
  count: number;
  idf: number;
  /** Largest contribution it can make to any document. */
  bound: number;
}

export function idf(documents: number, frequency: number): number {
  return Math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5));
}

/** One term's contribution to one document. */
export function contribution(p: Bm25Params, count: number, termIdf: number, tf: number, length: number, avgdl: number): number {
  return count * termIdf * ((tf * (p.k1 + 1)) / (tf + p.k1 * (1 - p.b + (p.b * length) / avgdl)));
}

export async function search(trees: SearchTrees, p: Bm25Params, queryTerms: readonly string[], k: number): Promise<SearchHit[]> {
  const documents = trees.docs.count;
  if (documents === 0) return [];
  const avgdl = (await readStat(trees, '')) / documents;
  const terms = await termsOf(trees, p, queryTerms, documents);
  const partial = new Map<string, number>();
  const parts = new Map<string, Float64Array>();
  const order = terms.map((_, j) => j).sort((a, b) => terms[b]!.bound - terms[a]!.bound || a - b);
  let lookups = false;
  for (let pos = 0; pos < order.length; pos++) {
    const j = order[pos]!;
    const term = terms[j]!;
    if (term.idf === 0) continue; // no document holds it
    const rest = order.slice(pos).reduce((sum, i) => sum + terms[i]!.bound, 0);
    const bar = kthLargest(partial, k);
    const margin = 1e-9 * Math.max(1, Math.abs(bar));
    if (!lookups && rest < bar - margin) lookups = true; // no document outside the candidates can reach the top k
    if (lookups) {
      for (const [doc, s] of partial) if (s + rest < bar - margin) partial.delete(doc);
      for (const doc of partial.keys()) {
        if (!(await trees.post.find(postingKey(term.term, doc)))) continue;
        const [tf, length] = (await trees.post.getCurrentValue())!;
        add(doc, j, contribution(p, term.count, term.idf, tf, length, avgdl));
      }
    } else {
      for await (const [key, [tf, length]] of trees.post.range(postingRange(term.term))) {
        add(postingDoc(key), j, contribution(p, term.count, term.idf, tf, length, avgdl));
      }
    }
  }
  const top = new TopK<SearchHit>(k);
  for (const doc of partial.keys()) {
    const contributions = parts.get(doc)!;
    let score = 0;
    for (let j = 0; j < contributions.length; j++) score += contributions[j]!;
    top.push({ id: doc, score });
  }
  return top.sorted();

  function add(doc: string, j: number, c: number): void {
    let contributions = parts.get(doc);
    if (!contributions) parts.set(doc, (contributions = new Float64Array(terms.length)));
    contributions[j] = c;
    partial.set(doc, (partial.get(doc) ?? 0) + c);
  }
}

/** Distinct terms in first-appearance order with their counts, idf and bounds. */
async function termsOf(trees: SearchTrees, p: Bm25Params, queryTerms: readonly string[], documents: number): Promise<QueryTerm[]> {
  const counts = new Map<string, number>();
  for (const t of queryTerms) counts.set(t, (counts.get(t) ?? 0) + 1);
  const terms: QueryTerm[] = [];
  for (const [term, count] of counts) {
    const frequency = await readStat(trees, term);
    const termIdf = frequency > 0 ? idf(documents, frequency) : 0;
    terms.push({ term, count, idf: termIdf, bound: count * termIdf * (p.k1 + 1) });
  }
  return terms;
}

/** The k-th largest value (-Infinity when there are fewer than k). */
function kthLargest(values: Map<string, number>, k: number): number {
  if (values.size < k) return -Infinity;
  if (k > 64) return [...values.values()].sort((a, b) => b - a)[k - 1]!;
  const top: number[] = [];
  for (const v of values.values()) {
    if (top.length < k) {
      top.push(v);
      if (top.length === k) top.sort((a, b) => a - b);
    } else if (v > top[0]!) {
      top[0] = v;
      for (let i = 0; i + 1 < k && top[i]! > top[i + 1]!; i++) [top[i], top[i + 1]] = [top[i + 1]!, top[i]!];
    }
  }
  return top[0]!;
}
