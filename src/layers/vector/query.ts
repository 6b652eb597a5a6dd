/**
 * k nearest neighbours over the active version: the query's `nprobe` nearest lists (all of them
 * when nprobe >= the number of lists: then the result is exactly brute force, spec VEC-4), each
 * scanned in key order from where the best scores can be, skipping the entries whose distance
 * to the centroid proves they cannot beat the k-th score so far (metric.ts: scoreBound).
 */
import { SopError, invalid } from '../../errors/sop-error.js';
import { centroidsOf } from './centroids.js';
import { parseMetadata } from './codec.js';
import type { VectorContext } from './context.js';
import type { ListContent } from './list-cache.js';
import { listContent } from './lists.js';
import { type Metric, centroidTerm, dotAt, indexForm, norm, squaredL2 } from './metric.js';
import { TopK } from './top-k.js';
import { readState } from './state.js';

export type MetadataFilter = (metadata: any) => boolean; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface QueryOptions {
  /** How many results (integer >= 1). */
  k: number;
  /** Keeps only the vectors whose metadata it accepts (it gets {} for a vector without metadata). */
  filter?: MetadataFilter;
  /** Lists to scan (integer >= 1, or Infinity for all: exact). Default: defaultNprobe(lists). */
  nprobe?: number;
}

export interface QueryHit {
  id: string;
  score: number;
  metadata: unknown;
}

/** Lists scanned by default: enough for a recall@10 of about 0.95 on clustered data (benchmarks/layers/RESULTS.md). */
export function defaultNprobe(lists: number): number {
  return Math.min(lists, Math.max(8, Math.ceil(2 * Math.sqrt(lists))));
}

interface Candidate {
  id: string;
  score: number;
  metadata: string | undefined;
}

interface Probe {
  q: Float64Array;
  qNorm: number;
  metric: Metric;
  d: number;
  filter: MetadataFilter | undefined;
  top: TopK<Candidate>;
}

export async function query(ctx: VectorContext, vector: Float32Array, k: number, filter: MetadataFilter | undefined, nprobe: number | undefined): Promise<QueryHit[]> {
  const { metric, dimensions: d } = ctx.layer;
  const q = Float64Array.from(vector);
  const qi = indexForm(vector, metric, 'query vector');
  const state = await readState(ctx.trees);
  const set = await centroidsOf(ctx.env, ctx.name, ctx.trees, state.active, d);
  const terms = Array.from({ length: set.count }, (_, c) => centroidTerm(metric, q, qi, set.data, c * d, d));
  const order = terms.map((_, c) => c).sort((a, b) => (metric === 'dot' ? terms[b]! - terms[a]! : terms[a]! - terms[b]!) || a - b);
  const probe: Probe = { q, qNorm: norm(q, d), metric, d, filter, top: new TopK<Candidate>(k) };
  const lists = Math.min(set.count, nprobe ?? defaultNprobe(set.count));
  for (let i = 0; i < lists; i++) {
    const cid = order[i]!;
    scan(probe, await listContent(ctx, state.active.ver, cid), terms[cid]!);
  }
  return probe.top.sorted().map((c) => ({ id: c.id, score: c.score, metadata: parseMetadata(c.metadata) }));
}

/** Scores the entries of one list that its keys do not prove hopeless against the k-th score so far. */
function scan(p: Probe, list: ListContent, term: number): void {
  const [from, to] = window(p, list, term);
  if (to <= from) return;
  const scores = scoreRange(p, list, from, to);
  for (let i = from; i < to; i++) {
    const s = scores[i - from]!;
    const id = list.ids[i]!;
    if (!p.top.admits(s, id)) continue;
    const metadata = list.metadata[i];
    if (p.filter && !accepts(p.filter, metadata)) continue;
    p.top.push({ id, score: s, metadata });
  }
}

/**
 * The entries (a range: the list is sorted by distance r to its centroid) whose score bound
 * (metric.ts: scoreBound) reaches the k-th score so far. The bound is inverted for r with a
 * margin well above rounding errors, so an entry that could tie the bar is always scored.
 */
function window(p: Probe, list: ListContent, term: number): [number, number] {
  const bar = p.top.bar;
  if (bar === -Infinity) return [0, list.size];
  const limit = bar - 1e-9 * Math.max(1, Math.abs(bar));
  if (p.metric === 'dot') {
    if (p.qNorm === 0) return [0, list.size];
    const r = (limit - term) / p.qNorm; // term + |q|·r >= limit
    return [lowerBound(list.dists, r - 1e-9 * (1 + Math.abs(r))), list.size];
  }
  // l2: -|term − r| >= limit; cosine: 1 − |term − r|² / 2 >= limit.
  const gap = p.metric === 'l2' ? -limit : Math.sqrt(Math.max(0, 2 * (1 - limit)));
  const slack = 1e-9 * (1 + Math.abs(term) + gap);
  return [lowerBound(list.dists, term - gap - slack), lowerBound(list.dists, term + gap + slack, true)];
}

let buffer = new Float64Array(1024);

/** Scores of entries from..to-1 (metric.ts: score), in a buffer reused from list to list. */
function scoreRange(p: Probe, list: ListContent, from: number, to: number): Float64Array {
  if (buffer.length < to - from) buffer = new Float64Array(2 * (to - from));
  const { q, d, qNorm } = p;
  const xs = list.vectors;
  if (p.metric === 'l2') {
    // Past the k-th distance (squared, with the margin) a sum can stop growing: it cannot be admitted.
    const bar = p.top.bar;
    const limit = bar === -Infinity ? Infinity : (-bar + 1e-9 * Math.max(1, -bar)) ** 2;
    for (let i = from; i < to; i++) {
      const s = squaredL2(q, xs, i * d, d, limit);
      buffer[i - from] = s > limit ? -Infinity : -Math.sqrt(s);
    }
  } else if (p.metric === 'dot') {
    for (let i = from; i < to; i++) buffer[i - from] = dotAt(q, xs, i * d, d);
  } else {
    const norms = list.norms;
    for (let i = from; i < to; i++) buffer[i - from] = dotAt(q, xs, i * d, d) / (qNorm * norms[i]!);
  }
  return buffer;
}

function accepts(filter: MetadataFilter, metadata: string | undefined): boolean {
  let verdict: unknown;
  try {
    verdict = filter(parseMetadata(metadata) ?? {});
  } catch (error) {
    throw new SopError('INVALID_ARGUMENT', `the query filter threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (typeof (verdict as { then?: unknown } | null)?.then === 'function') throw invalid('the query filter must be synchronous (it returned a promise)');
  return Boolean(verdict);
}

/** First index whose value is >= x (with `after`: > x). */
function lowerBound(values: Float64Array, x: number, after = false): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! < x || (after && values[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
