/**
 * A search index opened in one transaction: what users call. Arguments are checked before
 * anything is written (spec BM25-4); documents, postings and statistics change together in this
 * transaction (BM25-2).
 */
import { invalid } from '../../errors/sop-error.js';
import type { Env } from '../../ports/env.js';
import type { Transaction } from '../../txn/transaction.js';
import { checkId, checkK, checkOptionsObject } from '../vector/args.js';
import { changedUnder, guardWrite } from '../vector/tx-helpers.js';
import { type Analyzer, analyze, termFrequencies } from './analyzer.js';
import type { SearchLayer } from './options.js';
import { type SearchHit, search } from './scoring.js';
import { addStat, shardOf } from './stats.js';
import { type DocRecord, type SearchTrees, postingKey } from './trees.js';
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
  /** `add` for many documents (later ones win on a repeated id): statistics are written once per term, not once per document. */
  addAll(docs: Iterable<{ id: string; text: string }>): Promise<void>;
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
    await this.addAll([{ id, text }]);
  }

  async addAll(docs: Iterable<{ id: string; text: string }>): Promise<void> {
    const prepared = this.prepare(docs);
    this.tx.ensureWritable();
    await guardWrite(this.tx, `add to search index ${this.name}`, async () => {
      const deltas = new Map<string, number>();
      for (const doc of prepared) await this.index(doc.id, doc.record, deltas);
      await this.writeStats(deltas);
    });
  }

  async remove(id: string): Promise<boolean> {
    checkId(id);
    this.tx.ensureWritable();
    return guardWrite(this.tx, `remove from search index ${this.name}`, async () => {
      const old = await this.record(id);
      if (!old) return false;
      const deltas = new Map<string, number>();
      await this.unindex(id, old, new Map(), deltas);
      deltas.set('', -old.n);
      await this.writeStats(deltas);
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

  /** Every document checked and analyzed before anything is written (BM25-4). */
  private prepare(docs: Iterable<{ id: string; text: string }>): Array<{ id: string; record: DocRecord }> {
    if (docs === null || typeof docs !== 'object' || typeof (docs as Iterable<unknown>)[Symbol.iterator] !== 'function') throw invalid('addAll needs an iterable of { id, text }');
    const prepared: Array<{ id: string; record: DocRecord }> = [];
    for (const doc of docs) {
      if (doc === null || typeof doc !== 'object') throw invalid('addAll needs an iterable of { id, text }');
      const terms = analyze(this.analyzer, doc.text, 'text');
      prepared.push({ id: checkId(doc.id), record: { n: terms.length, t: [...termFrequencies(terms)] } });
    }
    return prepared;
  }

  /** Postings and record of one document; its statistics changes are added to `deltas` ('' the length). */
  private async index(id: string, record: DocRecord, deltas: Map<string, number>): Promise<void> {
    const old = await this.record(id);
    if (old && sameDoc(old, record)) return;
    const tf = new Map(record.t);
    await this.unindex(id, old, tf, deltas);
    const oldTf = new Map(old?.t ?? []);
    for (const [term, f] of tf) {
      if (oldTf.get(term) !== f || old?.n !== record.n) await this.trees.post.upsert(postingKey(term, id), [f, record.n]);
      if (!oldTf.has(term)) deltas.set(term, (deltas.get(term) ?? 0) + 1);
    }
    deltas.set('', (deltas.get('') ?? 0) + record.n - (old?.n ?? 0));
    await this.trees.docs.upsert(id, record);
  }

  /** Removes the postings of `old`'s terms that the new text (`tf`) lacks; counts them in `deltas`. */
  private async unindex(id: string, old: DocRecord | undefined, tf: ReadonlyMap<string, number>, deltas: Map<string, number>): Promise<void> {
    if (!old) return;
    for (const [term] of old.t) {
      if (tf.has(term)) continue;
      if (!(await this.trees.post.remove(postingKey(term, id)))) throw changedUnder(`search index ${this.name}: ${id} has no posting for ${JSON.stringify(term)}`);
      deltas.set(term, (deltas.get(term) ?? 0) - 1);
    }
  }

  /** One write per statistic changed, into this transaction's part (stats.ts). */
  private async writeStats(deltas: ReadonlyMap<string, number>): Promise<void> {
    const shard = shardOf(this.tx, this.name, this.env);
    for (const [term, delta] of deltas) await addStat(this.trees, term, shard, delta);
  }
}

/** Same length and term frequencies: re-adding an unchanged text writes nothing. */
function sameDoc(a: DocRecord, b: DocRecord): boolean {
  if (a.n !== b.n || a.t.length !== b.t.length) return false;
  const tf = new Map(a.t);
  return b.t.every(([term, f]) => tf.get(term) === f);
}
