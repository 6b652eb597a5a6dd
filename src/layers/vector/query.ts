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
import { type Metric, centroidTerm, indexForm, norm, score, scoreBound } from './metric.js';
import { TopK } from './shared.js';
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

/** Entries of one list, most promising first; stops where the bound falls below the k-th score. */
function scan(p: Probe, list: ListContent, term: number): void {
  if (p.metric === 'dot') {
    // The bound grows with the distance to the centroid: from the far end inwards.
    for (let i = list.size - 1; i >= 0; i--) if (!visit(p, list, i, term)) return;
    return;
  }
  // The bound falls with |term - r|: outwards from the entry whose distance is nearest to term.
  let hi = lowerBound(list.dists, term);
  let lo = hi - 1;
  while (lo >= 0 || hi < list.size) {
    const takeHi = lo < 0 || (hi < list.size && list.dists[hi]! - term <= term - list.dists[lo]!);
    const i = takeHi ? hi++ : lo--;
    if (!visit(p, list, i, term)) return;
  }
}

/** Scores entry i unless its bound proves it cannot make the top k; false once that is so (stop). */
function visit(p: Probe, list: ListContent, i: number, term: number): boolean {
  const bar = p.top.bar;
  // A margin well above rounding errors: an entry that could tie the bar is always scored.
  if (scoreBound(p.metric, term, p.qNorm, list.dists[i]!) < bar - 1e-9 * Math.max(1, Math.abs(bar))) return false;
  const s = score(p.metric, p.q, p.qNorm, list.vectors, i * p.d, list.norms[i]!, p.d);
  const id = list.ids[i]!;
  if (!p.top.admits(s, id)) return true;
  const metadata = list.metadata[i];
  if (p.filter && !accepts(p.filter, metadata)) return true;
  p.top.push({ id, score: s, metadata });
  return true;
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

/** First index whose value is >= x. */
function lowerBound(values: Float64Array, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
