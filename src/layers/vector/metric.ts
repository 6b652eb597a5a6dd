/**
 * Metrics and their scores. Every score is "higher is better":
 *   cosine: q·x / (|q| |x|)             (cosine similarity, in [-1, 1])
 *   dot:    q·x                          (inner product)
 *   l2:     -|q - x|                     (negative Euclidean distance)
 * All arithmetic is float64 over the float32 components, summed in index order, so an oracle
 * doing the same sums gets the same numbers.
 *
 * Clustering works on the "index form" of a vector: x / |x| for cosine (so L2 there is a
 * function of the cosine), x itself otherwise; list keys carry the L2 distance between the
 * index form and the list's centroid.
 */
import { invalid } from '../../errors/sop-error.js';

export type Metric = 'cosine' | 'l2' | 'dot';
export const METRICS: readonly Metric[] = ['cosine', 'l2', 'dot'];

export function dot(a: ArrayLike<number>, b: ArrayLike<number>, d: number, bOffset = 0): number {
  let s = 0;
  for (let i = 0; i < d; i++) s += a[i]! * b[bOffset + i]!;
  return s;
}

export function norm(a: ArrayLike<number>, d: number, offset = 0): number {
  let s = 0;
  for (let i = 0; i < d; i++) {
    const x = a[offset + i]!;
    s += x * x;
  }
  return Math.sqrt(s);
}

export function l2(a: ArrayLike<number>, b: ArrayLike<number>, d: number, bOffset = 0): number {
  let s = 0;
  for (let i = 0; i < d; i++) {
    const x = a[i]! - b[bOffset + i]!;
    s += x * x;
  }
  return Math.sqrt(s);
}

/** The vector as clustering sees it (float64). Cosine refuses the zero vector: it has no direction. */
export function indexForm(v: Float32Array, metric: Metric, what = 'vector'): Float64Array {
  const out = Float64Array.from(v);
  if (metric !== 'cosine') return out;
  const n = norm(v, v.length);
  if (n === 0) throw invalid(`${what} is the zero vector, which has no cosine`);
  for (let i = 0; i < out.length; i++) out[i]! /= n;
  return out;
}

// The scan's kernels (query.ts: scoreRange): one pair of array types each, so the engine keeps
// them monomorphic. They add in index order, as `dot` and `l2` do.

export function dotAt(q: Float64Array, xs: Float32Array, o: number, d: number): number {
  let s = 0;
  for (let i = 0; i < d; i++) s += q[i]! * xs[o + i]!;
  return s;
}

/** Squared L2; once past `limit` (checked every 16 components) it returns the partial sum, already too large. */
export function squaredL2(q: Float64Array, xs: Float32Array, o: number, d: number, limit = Infinity): number {
  let s = 0;
  for (let i = 0; i < d; i++) {
    const x = q[i]! - xs[o + i]!;
    s += x * x;
    if ((i & 15) === 15 && s > limit) return s;
  }
  return s;
}

/**
 * An upper bound of the score of any x whose index form lies at distance r from centroid c,
 * given qc (see `centroidTerm`): the triangle inequality for l2 and cosine, and
 * q·x = q·c + q·(x − c) <= q·c + |q| r for dot. Used to skip entries, so it must never be low.
 */
export function scoreBound(metric: Metric, qc: number, qNorm: number, r: number): number {
  if (metric === 'dot') return qc + qNorm * r;
  const gap = Math.abs(qc - r);
  return metric === 'l2' ? -gap : 1 - (gap * gap) / 2;
}

/** What `scoreBound` needs of a centroid: |qi − c| (l2, cosine: qi the query's index form) or q·c (dot). */
export function centroidTerm(metric: Metric, q: Float64Array, qi: Float64Array, c: Float64Array, cOffset: number, d: number): number {
  return metric === 'dot' ? dot(q, c, d, cOffset) : l2(qi, c, d, cOffset);
}
