/**
 * A reference BM25, written for the tests from the formula alone (spec BM25-1): documents as a
 * Map of texts, no index at all. Distinct query terms in first-appearance order, each weighted by
 * its count in the query; Lucene's idf; ranking by score descending, then id ascending.
 */
export function tokens(text: string): string[] {
  return (text.match(/[\p{L}\p{Nd}]+/gu) ?? []).map((t) => t.toLowerCase());
}

export interface RefHit {
  id: string;
  score: number;
}

export function referenceBm25(docs: ReadonlyMap<string, string>, query: string, k: number, k1 = 1.2, b = 0.75, analyze = tokens): RefHit[] {
  const analyzed = new Map([...docs].map(([id, text]) => [id, analyze(text)] as const));
  const n = analyzed.size;
  if (n === 0) return [];
  let total = 0;
  for (const terms of analyzed.values()) total += terms.length;
  const avgdl = total / n;
  const queryCounts = new Map<string, number>();
  for (const t of analyze(query)) queryCounts.set(t, (queryCounts.get(t) ?? 0) + 1);
  const df = new Map<string, number>();
  for (const terms of analyzed.values()) for (const t of new Set(terms)) df.set(t, (df.get(t) ?? 0) + 1);
  const hits: RefHit[] = [];
  for (const [id, terms] of analyzed) {
    let score = 0;
    let matched = false;
    for (const [term, count] of queryCounts) {
      const tf = terms.filter((t) => t === term).length;
      if (tf === 0) continue;
      matched = true;
      const idf = Math.log(1 + (n - df.get(term)! + 0.5) / (df.get(term)! + 0.5));
      score += count * idf * ((tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * terms.length) / avgdl)));
    }
    if (matched) hits.push({ id, score });
  }
  hits.sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1));
  return hits.slice(0, k);
}
