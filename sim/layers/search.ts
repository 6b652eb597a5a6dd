/**
 * The BM25 index under faults (spec BM25-1..BM25-3): adds (replacing earlier texts), removes and
 * searches of a few documents. Each write also records the document's text seed in a plain
 * B-tree in the same transaction, so after recovery that tree says exactly which texts committed.
 *
 * Checker:
 *   - every id's final text, and what committed searches found, is one its history allows
 *     (Timeline.possible, as in vector.ts): no lost acknowledged document, no ghost (BM25-3);
 *   - `ix.verify()`: postings and statistics equal what the documents give (BM25-2);
 *   - after healing, searches equal a reference BM25 over the committed texts exactly, and a
 *     replaced or removed text's own word finds nothing (BM25-1, BM25-3).
 */
import type { Btree } from '../../src/database/btree.js';
import type { Database } from '../../src/database/database.js';
import type { SearchIndex } from '../../src/layers/search/index.js';
import type { Transaction } from '../../src/txn/transaction.js';
import type { SeededSimRandom } from '../random.js';
import type { Guard, LayerRun, LayerWorkload } from './index.js';
import { Timeline } from './vector.js';

const INDEX = 'texts';
const SEEDS = 'text-seeds';
const IDS = Array.from({ length: 8 }, (_, i) => `d${i}`);
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'the', 'and', 'ωmega', 'x86'];

export const searchWorkload: LayerWorkload = {
  name: 'search',
  invariants: ['BM25-1', 'BM25-2', 'BM25-3'],
  weight: 0.12,
  start: (random) => new SearchRun(random),
};

interface SearchRecord {
  terms: string[];
  hits: Array<{ id: string; score: number }>;
  start: number;
  end: number;
}

class SearchRun implements LayerRun {
  private readonly timeline = new Timeline<number>();
  private readonly busy = new Set<string>();
  private readonly searches: SearchRecord[] = [];
  private readonly written: number[] = [];
  private nextSeed = 1;
  private clock = 0;

  constructor(private readonly random: SeededSimRandom) {}

  async setup(db: Database): Promise<void> {
    await db.transaction('write', async (tx) => {
      await db.newSearchIndex(tx, INDEX);
      await db.newBtree(tx, SEEDS);
    }, { retries: 100 });
  }

  async step(db: Database, guard: Guard): Promise<void> {
    const r = this.random.float('search.op');
    if (r < 0.45) return this.write(db, guard, false);
    if (r < 0.6) return this.write(db, guard, true);
    return this.search(db, guard);
  }

  /** Adds (or replaces) 1..3 documents, or removes them, in one transaction. */
  private async write(db: Database, guard: Guard, remove: boolean): Promise<void> {
    const ids: string[] = [];
    for (let n = 1 + this.random.int(3, 'search.ids'); n > 0; n--) {
      const id = this.random.pick(IDS, 'search.id');
      if (!this.busy.has(id) && !ids.includes(id)) ids.push(id);
    }
    if (ids.length === 0) return;
    for (const id of ids) this.busy.add(id);
    const plan = ids.map((id) => ({ id, seed: remove ? null : this.nextSeed++ }));
    for (const { seed } of plan) if (seed !== null) this.written.push(seed);
    const start = ++this.clock;
    try {
      const outcome = await guard('write', async (tx) => {
        const { ix, seeds } = await open(db, tx);
        for (const { id, seed } of plan) {
          if (seed === null) {
            await ix.remove(id);
            await seeds.remove(id);
          } else {
            await ix.add(id, textOf(seed));
            await seeds.upsert(id, seed);
          }
        }
      });
      const end = ++this.clock;
      for (const { id, seed } of plan) this.timeline.record(id, { value: seed, outcome, start, end });
    } finally {
      for (const id of ids) this.busy.delete(id);
    }
  }

  private async search(db: Database, guard: Guard): Promise<void> {
    const terms = Array.from({ length: 1 + this.random.int(3, 'search.terms') }, () => this.random.pick(WORDS, 'search.word'));
    const k = 1 + this.random.int(6, 'search.k');
    let hits: SearchRecord['hits'] = [];
    const start = ++this.clock;
    const outcome = await guard('read', async (tx) => void (hits = await (await open(db, tx)).ix.search(terms.join(' '), { k })));
    const end = ++this.clock;
    if (outcome === 'ok') this.searches.push({ terms, hits, start, end });
  }

  async check(db: Database): Promise<string[]> {
    const problems: string[] = [];
    for (const s of this.searches) {
      for (const hit of s.hits) {
        const texts = this.timeline.possible(hit.id, s.start, s.end);
        if (!texts.some((seed) => seed !== null && s.terms.some((t) => termsOf(textOf(seed)).includes(t)))) {
          problems.push(`a committed search for ${JSON.stringify(s.terms.join(' '))} found ${hit.id}, whose possible texts hold none of its terms (ghost)`);
        }
      }
    }
    const end = ++this.clock;
    problems.push(...(await db.transaction('read', async (tx) => this.checkFinal(await open(db, tx), end), { retries: 100 })));
    return problems;
  }

  private async checkFinal({ ix, seeds }: Awaited<ReturnType<typeof open>>, end: number): Promise<string[]> {
    const problems = (await ix.verify()).problems.map((p) => `verify: ${p}`);
    const docs = new Map<string, string>();
    for (const id of IDS) {
      const seed = (await seeds.find(id)) ? ((await seeds.getCurrentValue()) ?? null) : null;
      const allowed = this.timeline.possible(id, end, end);
      if (!allowed.includes(seed)) problems.push(`${id}: final text ${seed ?? 'absent'}, its history allows ${allowed.map((s) => s ?? 'absent').join(', ')} (lost or ghost)`);
      if (seed !== null) docs.set(id, textOf(seed));
    }
    if (ix.count !== docs.size) problems.push(`the index counts ${ix.count} documents, ${docs.size} committed`);
    for (const q of ['alpha', 'the and', 'beta gamma delta', 'ωmega x86 alpha', 'epsilon epsilon the']) {
      for (const k of [1, 3, 8]) {
        const got = await ix.search(q, { k });
        const want = referenceBm25(docs, q, k);
        if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`search ${JSON.stringify(q)} k ${k}: ${JSON.stringify(got)}, the reference gives ${JSON.stringify(want)}`);
      }
    }
    // Each text's own word finds exactly the document that holds it now: replaced, removed and failed texts find nothing.
    for (const seed of this.written) {
      const holder = [...docs].find(([, text]) => text === textOf(seed))?.[0];
      const got = (await ix.search(`u${seed}`, { k: 2 })).map((h) => h.id);
      if (JSON.stringify(got) !== JSON.stringify(holder ? [holder] : [])) problems.push(`the word of text ${seed} finds ${JSON.stringify(got)}, expected ${holder ?? 'nothing'}`);
    }
    return problems;
  }
}

async function open(db: Database, tx: Transaction): Promise<{ ix: SearchIndex; seeds: Btree<string, number> }> {
  return { ix: await db.openSearchIndex(tx, INDEX), seeds: await db.openBtree<string, number>(tx, SEEDS) };
}

/** The text of write `seed`: a few common words and one word of its own. */
function textOf(seed: number): string {
  let s = (seed * 2654435761) >>> 0;
  const words: string[] = [];
  for (let n = (seed % 7) + 1; n > 0; n--) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x297a2d39) >>> 0;
    words.push(WORDS[s % WORDS.length]!);
  }
  words.splice(seed % (words.length + 1), 0, `u${seed}`);
  return words.join(seed % 2 === 0 ? ' ' : ', ');
}

function termsOf(text: string): string[] {
  return (text.match(/[\p{L}\p{Nd}]+/gu) ?? []).map((t) => t.toLowerCase());
}

/** The reference BM25 of spec BM25-1, written here from the formula (k1 1.2, b 0.75). */
function referenceBm25(docs: ReadonlyMap<string, string>, query: string, k: number): Array<{ id: string; score: number }> {
  const k1 = 1.2;
  const b = 0.75;
  const terms = new Map([...docs].map(([id, text]) => [id, termsOf(text)] as const));
  if (terms.size === 0) return [];
  const avgdl = [...terms.values()].reduce((sum, t) => sum + t.length, 0) / terms.size;
  const counts = new Map<string, number>();
  for (const t of termsOf(query)) counts.set(t, (counts.get(t) ?? 0) + 1);
  const hits: Array<{ id: string; score: number }> = [];
  for (const [id, doc] of terms) {
    let score = 0;
    let matched = false;
    for (const [term, count] of counts) {
      const tf = doc.filter((t) => t === term).length;
      if (tf === 0) continue;
      matched = true;
      const n = [...terms.values()].filter((d) => d.includes(term)).length;
      const idf = Math.log(1 + (terms.size - n + 0.5) / (n + 0.5));
      score += count * idf * ((tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * doc.length) / avgdl)));
    }
    if (matched) hits.push({ id, score });
  }
  return hits.sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1)).slice(0, k);
}
