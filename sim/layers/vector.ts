/**
 * The vector store under faults (spec VEC-1..VEC-4): upserts and removes of a few ids (one to
 * three per transaction, sometimes with a query in the same transaction), queries with and
 * without every list probed, gets and optimize, in a store that re-clusters every few vectors.
 *
 * History: every write of an id is recorded with its outcome and its start and end on a logical
 * clock (writes of one id never overlap: the workload serializes them). Checker:
 *   - index ≡ data after recovery: `vs.verify()` finds nothing (VEC-2);
 *   - no lost acknowledged vector, no ghost: each id's final content, and what every committed
 *     get or query saw, is one its history allows (Timeline.possible) (VEC-1, VEC-3);
 *   - committed queries that probed every list miss no vector certainly present that beats
 *     their k-th hit, and after healing such queries equal brute force exactly (VEC-4).
 */
import type { Database } from '../../src/database/database.js';
import type { VectorStore } from '../../src/layers/vector/index.js';
import type { Transaction } from '../../src/txn/transaction.js';
import type { Outcome } from '../history.js';
import type { SeededSimRandom } from '../random.js';
import type { Guard, LayerRun, LayerWorkload } from './index.js';

const STORE = 'vecs';
const IDS = Array.from({ length: 10 }, (_, i) => `v${i}`);
const D = 4;
const METRICS = ['cosine', 'l2', 'dot'] as const;
type Metric = (typeof METRICS)[number];

export const vectorWorkload: LayerWorkload = {
  name: 'vector',
  invariants: ['VEC-1', 'VEC-2', 'VEC-3', 'VEC-4'],
  weight: 0.12,
  start: (random) => new VectorRun(random),
};

/** A write of one id: `value` null for a remove. */
interface Write<T> {
  value: T | null;
  outcome: Outcome;
  start: number;
  end: number;
}

/**
 * What one id may hold, from its writes (which never overlap) and their outcomes: at a moment in
 * [start, end] it holds the value of a write that did not fail and began before `end` (or its
 * initial absence), unless an acknowledged write that came after it had already ended before
 * `start`. Shared with the search workload.
 */
export class Timeline<T> {
  private readonly writes = new Map<string, Array<Write<T>>>();

  record(id: string, write: Write<T>): void {
    let list = this.writes.get(id);
    if (!list) this.writes.set(id, (list = []));
    list.push(write);
  }

  /** Values `id` may have held at some moment in [start, end] (null: absent). */
  possible(id: string, start: number, end: number): Array<T | null> {
    const writes = this.writes.get(id) ?? [];
    const candidates: Array<{ value: T | null; after: number }> = [{ value: null, after: -1 }];
    for (const w of writes) if (w.outcome !== 'fail' && w.start < end) candidates.push({ value: w.value, after: w.end });
    return candidates.filter((c) => !writes.some((w) => w.outcome === 'ok' && w.start > c.after && w.end < start)).map((c) => c.value);
  }

  /** The value `id` certainly held throughout [start, end], or undefined when that is not known. */
  certain(id: string, start: number, end: number): { value: T | null } | undefined {
    const values = this.possible(id, start, end);
    const writes = this.writes.get(id) ?? [];
    const overlapping = writes.some((w) => w.outcome !== 'fail' && w.start < end && w.end > start);
    return values.length === 1 && !overlapping ? { value: values[0]! } : undefined;
  }
}

/** A vector and its metadata, identified by the seed that made them. */
interface Content {
  seed: number;
}

interface QueryRecord {
  q: Float32Array;
  k: number;
  exact: boolean;
  group: number | null;
  hits: Array<{ id: string; score: number; metadata: unknown }>;
  start: number;
  end: number;
}

class VectorRun implements LayerRun {
  private readonly metric: Metric;
  private readonly clusterAt: number;
  private readonly timeline = new Timeline<Content>();
  private readonly busy = new Set<string>();
  private readonly queries: QueryRecord[] = [];
  private readonly gets: Array<{ id: string; seen: number | null; start: number; end: number }> = [];
  private nextSeed = 1;
  private clock = 0;

  constructor(private readonly random: SeededSimRandom) {
    this.metric = random.pick(METRICS, 'vector.metric');
    this.clusterAt = 2 + random.int(6, 'vector.clusterAt');
  }

  async setup(db: Database): Promise<void> {
    await db.transaction('write', async (tx) => void (await db.newVectorStore(tx, STORE, { dimensions: D, metric: this.metric, clusterAt: this.clusterAt })), { retries: 100 });
  }

  async step(db: Database, guard: Guard): Promise<void> {
    const r = this.random.float('vector.op');
    if (r < 0.4) return this.write(db, guard, 'upsert');
    if (r < 0.55) return this.write(db, guard, 'remove');
    if (r < 0.8) return this.query(db, guard);
    if (r < 0.9) return this.get(db, guard);
    if (r < 0.95) return this.write(db, guard, 'mixed');
    await guard('write', async (tx) => (await open(db, tx)).optimize());
  }

  /** Upserts or removes 1..3 ids in one transaction ('mixed': both, and a query in between). */
  private async write(db: Database, guard: Guard, kind: 'upsert' | 'remove' | 'mixed'): Promise<void> {
    const ids = this.claim(1 + this.random.int(3, 'vector.ids'));
    if (ids.length === 0) return;
    const plan = ids.map((id, i) => ({ id, value: kind === 'remove' || (kind === 'mixed' && i === 1) ? null : { seed: this.nextSeed++ } }));
    const start = ++this.clock;
    try {
      const outcome = await guard('write', async (tx) => {
        const vs = await open(db, tx);
        for (const { id, value } of plan) {
          if (value) await vs.upsert(id, vectorOf(value.seed, this.metric), metadataOf(value.seed));
          else await vs.remove(id);
          if (kind === 'mixed') await vs.query(vectorOf(this.nextSeed + 1000, this.metric), { k: 3 });
        }
      });
      const end = ++this.clock;
      for (const { id, value } of plan) this.timeline.record(id, { value, outcome, start, end });
    } finally {
      for (const id of ids) this.busy.delete(id);
    }
  }

  private async query(db: Database, guard: Guard): Promise<void> {
    const q = vectorOf(100_000 + this.random.int(1_000_000, 'vector.q'), this.metric);
    const k = 1 + this.random.int(5, 'vector.k');
    const exact = this.random.chance(0.6, 'vector.exact');
    const group = this.random.chance(0.3, 'vector.filter') ? this.random.int(3, 'vector.group') : null;
    const mode = this.random.chance(0.8, 'vector.mode') ? 'read' : 'nocheck';
    let hits: QueryRecord['hits'] = [];
    const start = ++this.clock;
    const outcome = await guard(mode, async (tx) => {
      const filter = group === null ? undefined : (m: { g?: number }) => m.g === group;
      hits = await (await open(db, tx)).query(q, { k, ...(exact ? { nprobe: Infinity } : {}), ...(filter ? { filter } : {}) });
    });
    const end = ++this.clock;
    if (outcome === 'ok' && mode === 'read') this.queries.push({ q, k, exact, group, hits, start, end });
  }

  private async get(db: Database, guard: Guard): Promise<void> {
    const id = this.random.pick(IDS, 'vector.get');
    let seen: number | null = null;
    const start = ++this.clock;
    const outcome = await guard('read', async (tx) => {
      const got = await (await open(db, tx)).get(id);
      seen = got ? seedOf(got.metadata) : null;
      if (got && !sameVector(got.vector, vectorOf(seen!, this.metric))) seen = -1; // torn: metadata and vector disagree
    });
    const end = ++this.clock;
    if (outcome === 'ok') this.gets.push({ id, seen, start, end });
  }

  /** Ids no other step of this workload is writing (writes of one id never overlap). */
  private claim(n: number): string[] {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.random.pick(IDS, 'vector.id');
      if (this.busy.has(id) || ids.includes(id)) continue;
      ids.push(id);
      this.busy.add(id);
    }
    return ids;
  }

  async check(db: Database): Promise<string[]> {
    const problems: string[] = [];
    for (const g of this.gets) {
      const allowed = this.timeline.possible(g.id, g.start, g.end).map((c) => c?.seed ?? null);
      if (!allowed.includes(g.seen)) problems.push(`a committed get of ${g.id} saw ${describeSeed(g.seen)}, its history allows ${allowed.map(describeSeed).join(', ')}`);
    }
    for (const record of this.queries) problems.push(...this.checkQuery(record));
    const end = ++this.clock;
    problems.push(...(await db.transaction('read', async (tx) => this.checkFinal(await open(db, tx), end), { retries: 100 })));
    return problems;
  }

  /** A committed query saw only vectors the history allows, with their true scores; an exact one missed none certainly there. */
  private checkQuery(r: QueryRecord): string[] {
    const problems: string[] = [];
    const what = `a committed query (k ${r.k}${r.exact ? ', all lists' : ''}${r.group === null ? '' : `, group ${r.group}`})`;
    for (let i = 0; i < r.hits.length; i++) {
      const hit = r.hits[i]!;
      const seed = seedOf(hit.metadata);
      const allowed = this.timeline.possible(hit.id, r.start, r.end).some((c) => c?.seed === seed);
      if (!allowed) problems.push(`${what} returned ${hit.id} as ${describeSeed(seed)}, which its history does not allow (ghost)`);
      else if (hit.score !== trueScore(this.metric, r.q, vectorOf(seed, this.metric))) problems.push(`${what}: ${hit.id} has score ${hit.score}, not its true score`);
      if (r.group !== null && seed % 3 !== r.group) problems.push(`${what} returned ${hit.id}, which the filter rejects`);
      if (i > 0 && !(r.hits[i - 1]!.score > hit.score || (r.hits[i - 1]!.score === hit.score && r.hits[i - 1]!.id < hit.id))) problems.push(`${what}: hits out of order`);
    }
    if (!r.exact) return problems;
    const bar = r.hits.length < r.k ? -Infinity : r.hits[r.hits.length - 1]!.score;
    for (const id of IDS) {
      const known = this.timeline.certain(id, r.start, r.end);
      if (!known?.value || r.hits.some((h) => h.id === id)) continue;
      if (r.group !== null && known.value.seed % 3 !== r.group) continue;
      const score = trueScore(this.metric, r.q, vectorOf(known.value.seed, this.metric));
      if (score > bar) problems.push(`${what} missed ${id} (score ${score}, the k-th hit scores ${bar}): a vector certainly present is lost`);
    }
    return problems;
  }

  /** After healing: index ≡ data, every id as its history allows, exact queries equal brute force. */
  private async checkFinal(vs: VectorStore, end: number): Promise<string[]> {
    const problems = (await vs.verify()).problems.map((p) => `verify: ${p}`);
    const present = new Map<string, number>();
    for (const id of IDS) {
      const got = await vs.get(id);
      const seed = got ? seedOf(got.metadata) : null;
      if (got && !sameVector(got.vector, vectorOf(seed!, this.metric))) problems.push(`${id}: its vector and metadata come from different writes`);
      const allowed = this.timeline.possible(id, end, end).map((c) => c?.seed ?? null);
      if (!allowed.includes(seed)) problems.push(`${id}: final content ${describeSeed(seed)}, its history allows ${allowed.map(describeSeed).join(', ')} (lost or ghost)`);
      if (seed !== null) present.set(id, seed);
    }
    if (vs.count !== present.size) problems.push(`count is ${vs.count}, ${present.size} ids are present`);
    for (let i = 0; i < 4; i++) {
      const q = vectorOf(900_000 + i, this.metric);
      const hits = await vs.query(q, { k: 4, nprobe: Infinity });
      const expected = [...present].map(([id, seed]) => ({ id, score: trueScore(this.metric, q, vectorOf(seed, this.metric)) }))
        .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1)).slice(0, 4);
      if (JSON.stringify(hits.map((h) => [h.id, h.score])) !== JSON.stringify(expected.map((h) => [h.id, h.score]))) {
        problems.push(`final query ${i} with every list probed returned ${JSON.stringify(hits.map((h) => h.id))}, brute force ${JSON.stringify(expected.map((h) => h.id))}`);
      }
    }
    return problems;
  }
}

async function open(db: Database, tx: Transaction): Promise<VectorStore> {
  return db.openVectorStore(tx, STORE);
}

/** The vector of a seed: small components, never the zero vector. */
function vectorOf(seed: number, metric: Metric): Float32Array {
  let s = (seed * 2654435761) >>> 0;
  const v = Float32Array.from({ length: D }, () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x297a2d39) >>> 0;
    return (s % 17) - 8;
  });
  if (metric === 'cosine' && v.every((x) => x === 0)) v[0] = 1;
  return v;
}

function metadataOf(seed: number): { seed: number; g: number } {
  return { seed, g: seed % 3 };
}

function seedOf(metadata: unknown): number {
  return (metadata as { seed: number }).seed;
}

function sameVector(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function describeSeed(seed: number | null): string {
  return seed === null ? 'absent' : seed === -1 ? 'a torn value' : `write ${seed}`;
}

/** The store's score (spec VEC-3), computed independently: float64 sums in index order. */
function trueScore(metric: Metric, q: Float32Array, x: Float32Array): number {
  let dot = 0;
  let qq = 0;
  let xx = 0;
  let dd = 0;
  for (let i = 0; i < q.length; i++) {
    dot += q[i]! * x[i]!;
    qq += q[i]! * q[i]!;
    xx += x[i]! * x[i]!;
    dd += (q[i]! - x[i]!) * (q[i]! - x[i]!);
  }
  return metric === 'dot' ? dot : metric === 'l2' ? -Math.sqrt(dd) : dot / (Math.sqrt(qq) * Math.sqrt(xx));
}
