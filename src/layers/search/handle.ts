/**
 * A search index opened in one transaction: what users call. Arguments are checked before
 * anything is written (spec BM25-4); documents, postings and statistics change together in this
 * transaction (BM25-2).
 */
import { invalid } from '../../errors/sop-error.js';
import type { Env } from '../../ports/env.js';
import type { Transaction } from '../../txn/transaction.js';
import { changedUnder, checkId, checkK, checkOptionsObject, guardWrite } from '../vector/shared.js';
import { type Analyzer, analyze, termFrequencies } from './analyzer.js';
import type { SearchLayer } from './options.js';
import { type SearchHit, search } from './scoring.js';
import { addStat, shardOf } from './stats.js';
import type { DocRecord, SearchTrees } from './trees.js';
import { type SearchIndexCheck, verifyIndex } from './verify.js';

export interface SearchOptions {
  /** How many results (integer >= 1). Default 10. */
  k?: number;
}

export interface SearchIndex {
  readonly name: string;
  /** Documents as this transaction sees them. */
  readonly count: number;
  /** Indexes `text` under `id`, replacing an earlier text of the same id. */
  add(id: string, text: string): Promise<void>;
  remove(id: string): Promise<boolean>;
  /** The k best documents by BM25, best first (ties: smaller id first). */
  search(query: string, options?: SearchOptions): Promise<SearchHit[]>;
  /** Checks postings and statistics against the documents (BM25-2); `problems` is empty when they agree. */
  verify(): Promise<SearchIndexCheck>;
}

export class SearchIndexHandle implements SearchIndex {
  constructor(
    private readonly env: Env,
    private readonly tx: Transaction,
    readonly name: string,
    private readonly layer: SearchLayer,
    private readonly analyzer: Analyzer,
    private readonly trees: SearchTrees,
  ) {}

  get count(): number {
    return this.trees.docs.count;
  }

  async add(id: string, text: string): Promise<void> {
    checkId(id);
    const terms = analyze(this.analyzer, text, 'text');
    const tf = termFrequencies(terms);
    const record: DocRecord = { n: terms.length, t: [...tf] };
    this.tx.ensureWritable();
    await guardWrite(this.tx, `add to search index ${this.name}`, async () => {
      const old = await this.record(id);
      if (old && sameDoc(old, record)) return;
      await this.unindex(id, old, tf);
      const oldTf = new Map(old?.t ?? []);
      const shard = shardOf(this.tx, this.name, this.env);
      for (const [term, f] of tf) {
        if (oldTf.get(term) !== f || old?.n !== record.n) await this.trees.post.upsert([term, id], [f, record.n]);
        if (!oldTf.has(term)) await addStat(this.trees, [term, shard], 1);
      }
      await addStat(this.trees, [0, shard], record.n - (old?.n ?? 0));
      await this.trees.docs.upsert(id, record);
    });
  }

  async remove(id: string): Promise<boolean> {
    checkId(id);
    this.tx.ensureWritable();
    return guardWrite(this.tx, `remove from search index ${this.name}`, async () => {
      const old = await this.record(id);
      if (!old) return false;
      await this.unindex(id, old, new Map());
      await addStat(this.trees, [0, shardOf(this.tx, this.name, this.env)], -old.n);
      await this.trees.docs.remove(id);
      return true;
    });
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    const terms = analyze(this.analyzer, query, 'query');
    if (terms.length === 0) throw invalid('the query has no terms');
    const o = checkOptionsObject(options, 'search options');
    const k = checkK(o.k ?? 10);
    this.tx.ensureActive();
    return search(this.trees, this.layer, terms, k);
  }

  async verify(): Promise<SearchIndexCheck> {
    return verifyIndex(this.trees);
  }

  private async record(id: string): Promise<DocRecord | undefined> {
    if (!(await this.trees.docs.find(id))) return undefined;
    return this.trees.docs.getCurrentValue();
  }

  /** Removes the postings of `old`'s terms that the new text (`tf`) lacks, and their document frequencies. */
  private async unindex(id: string, old: DocRecord | undefined, tf: ReadonlyMap<string, number>): Promise<void> {
    if (!old) return;
    const shard = shardOf(this.tx, this.name, this.env);
    for (const [term] of old.t) {
      if (tf.has(term)) continue;
      if (!(await this.trees.post.remove([term, id]))) throw changedUnder(`search index ${this.name}: ${id} has no posting for ${JSON.stringify(term)}`);
      await addStat(this.trees, [term, shard], -1);
    }
  }
}

/** Same length and term frequencies: re-adding an unchanged text writes nothing. */
function sameDoc(a: DocRecord, b: DocRecord): boolean {
  if (a.n !== b.n || a.t.length !== b.t.length) return false;
  const tf = new Map(a.t);
  return b.t.every(([term, f]) => tf.get(term) === f);
}
