/**
 * k-means for the IVF lists: k-means++ seeding (first centre uniform, each next one drawn with
 * probability proportional to the squared distance to the nearest centre so far) and a few Lloyd
 * iterations. Deterministic for a given Random port (the simulator's seed decides every draw).
 */
import type { Random } from '../../ports/random.js';

/** Lloyd iterations at most; the lists only need to be good, not optimal. */
export const MAX_ITERATIONS = 8;
/** Above this many centres, two levels (see kmeans). */
const FLAT_K = 64;

/**
 * Centres of `n` points of dimension `d` (flat, row-major) for at most k clusters. Returns fewer
 * than k when the points have fewer distinct values than k (nothing left to seed with).
 *
 * For large k, two levels keep the work near n·d·2√k per iteration instead of n·d·k: √k coarse
 * clusters first, then each split into a share of k proportional to its size.
 */
export function kmeans(points: Float64Array, n: number, d: number, k: number, random: Random, iterations = MAX_ITERATIONS): Float64Array {
  if (k <= FLAT_K) return lloyd(points, n, d, k, random, iterations);
  const coarse = lloyd(points, n, d, Math.ceil(Math.sqrt(k)), random, iterations);
  const m = coarse.length / d;
  const members: number[][] = Array.from({ length: m }, () => []);
  for (let i = 0; i < n; i++) members[nearestCentre(points, i * d, coarse, m, d)]!.push(i);
  const parts: Float64Array[] = [];
  for (const group of members) {
    if (group.length === 0) continue;
    const sub = new Float64Array(group.length * d);
    group.forEach((p, j) => sub.set(points.subarray(p * d, p * d + d), j * d));
    parts.push(lloyd(sub, group.length, d, Math.max(1, Math.round((k * group.length) / n)), random, iterations));
  }
  const out = new Float64Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One level: k-means++ seeding, then Lloyd iterations until nothing moves. */
function lloyd(points: Float64Array, n: number, d: number, k: number, random: Random, iterations: number): Float64Array {
  if (n === 0 || k < 1) return new Float64Array(0);
  const centres = seed(points, n, d, Math.min(k, n), random);
  const m = centres.length / d;
  const assignment = new Int32Array(n).fill(-1);
  for (let it = 0; it < iterations; it++) {
    if (!assign(points, n, d, centres, m, assignment)) break;
    update(points, n, d, centres, m, assignment);
  }
  return centres;
}

/** k-means++: returns up to k centres; stops early when every point coincides with a centre. */
function seed(points: Float64Array, n: number, d: number, k: number, random: Random): Float64Array {
  const chosen: number[] = [Math.floor(random.nextFloat() * n)];
  const nearest = new Float64Array(n).fill(Infinity);
  while (chosen.length < k) {
    const last = chosen[chosen.length - 1]!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const dd = squared(points, i * d, points, last * d, d);
      if (dd < nearest[i]!) nearest[i] = dd;
      total += nearest[i]!;
    }
    if (!(total > 0)) break;
    let target = random.nextFloat() * total;
    let pick = -1;
    for (let i = 0; i < n; i++) {
      if (nearest[i]! <= 0) continue;
      pick = i;
      target -= nearest[i]!;
      if (target < 0) break;
    }
    chosen.push(pick);
  }
  const centres = new Float64Array(chosen.length * d);
  chosen.forEach((p, c) => centres.set(points.subarray(p * d, p * d + d), c * d));
  return centres;
}

/** Nearest centre of every point; false when no assignment changed (converged). */
function assign(points: Float64Array, n: number, d: number, centres: Float64Array, m: number, assignment: Int32Array): boolean {
  let changed = false;
  for (let i = 0; i < n; i++) {
    const c = nearestCentre(points, i * d, centres, m, d);
    if (c !== assignment[i]) {
      assignment[i] = c;
      changed = true;
    }
  }
  return changed;
}

/** Each centre moves to the mean of its points; a centre without points stays where it is. */
function update(points: Float64Array, n: number, d: number, centres: Float64Array, m: number, assignment: Int32Array): void {
  const sums = new Float64Array(m * d);
  const counts = new Int32Array(m);
  for (let i = 0; i < n; i++) {
    const c = assignment[i]!;
    counts[c]!++;
    for (let j = 0; j < d; j++) sums[c * d + j]! += points[i * d + j]!;
  }
  for (let c = 0; c < m; c++) {
    if (counts[c] === 0) continue;
    for (let j = 0; j < d; j++) centres[c * d + j] = sums[c * d + j]! / counts[c]!;
  }
}

/** Index of the centre nearest to the point at `offset` (ties: the lower index). */
export function nearestCentre(points: ArrayLike<number>, offset: number, centres: Float64Array, m: number, d: number): number {
  let best = 0;
  let bestDistance = Infinity;
  for (let c = 0; c < m; c++) {
    const dd = squared(points, offset, centres, c * d, d, bestDistance);
    if (dd < bestDistance) {
      bestDistance = dd;
      best = c;
    }
  }
  return best;
}

/** Squared distance; stops adding once it exceeds `limit` (the caller only needs "not smaller"). */
function squared(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, d: number, limit = Infinity): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const x = a[ao + j]! - b[bo + j]!;
    s += x * x;
    if (s > limit) return s;
  }
  return s;
}
