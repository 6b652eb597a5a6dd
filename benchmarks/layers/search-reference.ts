/**
 * The benchmark's reference BM25 (spec BM25-1), written from the formula, in memory: an inverted
 * index of term frequencies and exhaustive scoring of every document holding a query term.
 * Distinct query terms in first-appearance order, each weighted by its count in the query;
 * Lucene's idf; k1 1.2, b 0.75; ranking by score descending, then id ascending.
 */
export function referenceTokens(text: string): string[] {
  return (text.match(/[\p{L}\p{Nd}]+/gu) ?? []).map((t) => t.toLowerCase());
}

export interface Ranked {
  id: string;
  score: number;
}

export class ReferenceBm25 {
  private readonly postings = new Map<string, Array<[doc: number, tf: number]>>();
  private readonly ids: string[] = [];
  private readonly lengths: number[] = [];
  private total = 0;

  constructor(private readonly k1 = 1.2, private readonly b = 0.75) {}

  add(id: string, text: string): void {
    const doc = this.ids.length;
    const terms = referenceTokens(text);
    this.ids.push(id);
    this.lengths.push(terms.length);
    this.total += terms.length;
    const tf = new Map<string, number>();
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const [t, f] of tf) {
      let list = this.postings.get(t);
      if (!list) this.postings.set(t, (list = []));
      list.push([doc, f]);
    }
  }

  /** Every matching document, best first. */
  rank(query: string): Ranked[] {
    const n = this.ids.length;
    const avgdl = this.total / n;
    const counts = new Map<string, number>();
    for (const t of referenceTokens(query)) counts.set(t, (counts.get(t) ?? 0) + 1);
    const parts = new Map<number, number[]>();
    let j = 0;
    for (const [term, count] of counts) {
      const list = this.postings.get(term) ?? [];
      const idf = Math.log(1 + (n - list.length + 0.5) / (list.length + 0.5));
      for (const [doc, tf] of list) {
        let p = parts.get(doc);
        if (!p) parts.set(doc, (p = new Array<number>(counts.size).fill(0)));
        p[j] = count * idf * ((tf * (this.k1 + 1)) / (tf + this.k1 * (1 - this.b + (this.b * this.lengths[doc]!) / avgdl)));
      }
      j++;
    }
    const ranked: Ranked[] = [];
    for (const [doc, p] of parts) ranked.push({ id: this.ids[doc]!, score: p.reduce((s, x) => s + x, 0) });
    return ranked.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  }
}

/**
 * Whether `top` is the reference's top k up to ties: position by position the same reference
 * score (documents with equal scores may come in any order, and any of those tied at the cut).
 */
export function sameTopK(top: readonly string[], ranked: readonly Ranked[], k: number): boolean {
  const expected = ranked.slice(0, k);
  if (top.length !== expected.length) return false;
  const scoreOf = new Map(ranked.map((r) => [r.id, r.score]));
  return top.every((id, i) => {
    const s = scoreOf.get(id);
    const e = expected[i]!.score;
    return s !== undefined && Math.abs(s - e) <= 1e-9 * Math.max(1, Math.abs(e));
  });
}
