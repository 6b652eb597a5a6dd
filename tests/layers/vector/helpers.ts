/** Shared by the vector store tests: temp folders, a seeded PRNG, an independent brute-force oracle. */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database, SopError } from '../../../src/index.js';

export type Metric = 'cosine' | 'l2' | 'dot';

export class TempDirs {
  private readonly dirs: string[] = [];

  make(prefix = 'sop-vec-'): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function freshDb(dirs: TempDirs): Promise<Database> {
  return Database.open({ folder: dirs.make() });
}

export async function expectCode(promise: Promise<unknown> | (() => unknown), code: string): Promise<SopError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    assert.ok(error instanceof SopError, `expected a SopError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

/** mulberry32: a small seeded PRNG for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Item {
  vector: Float32Array;
  metadata?: unknown;
}

export interface Hit {
  id: string;
  score: number;
}

/**
 * The score the store promises (README, spec VEC-3), computed here independently: float64 sums
 * in index order over the float32 components.
 */
export function trueScore(metric: Metric, q: Float32Array, x: Float32Array): number {
  let dot = 0;
  let qq = 0;
  let xx = 0;
  let dd = 0;
  for (let i = 0; i < q.length; i++) {
    const a = q[i]!;
    const b = x[i]!;
    dot += a * b;
    qq += a * a;
    xx += b * b;
    dd += (a - b) * (a - b);
  }
  if (metric === 'dot') return dot;
  if (metric === 'l2') return -Math.sqrt(dd);
  return dot / (Math.sqrt(qq) * Math.sqrt(xx));
}

/** Brute force: every item the filter accepts, by score descending then id ascending. */
export function bruteForce(items: ReadonlyMap<string, Item>, metric: Metric, q: Float32Array, k: number, filter?: (m: any) => boolean): Hit[] {
  const all: Hit[] = [];
  for (const [id, item] of items) if (!filter || filter(item.metadata ?? {})) all.push({ id, score: trueScore(metric, q, item.vector) });
  all.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return all.slice(0, k);
}

/**
 * `actual` is a valid top k against the oracle: same length, every hit a real item with its true
 * score, nothing missing that clearly beats the k-th, and in order. Scores within `eps` of each
 * other count as ties (rounding), so the check cannot fail on floating-point noise alone.
 */
export function assertTopK(actual: readonly Hit[], items: ReadonlyMap<string, Item>, metric: Metric, q: Float32Array, k: number, filter?: (m: any) => boolean, eps = 1e-9): void {
  const expected = bruteForce(items, metric, q, k, filter);
  assert.equal(actual.length, expected.length, `expected ${expected.length} hits, got ${actual.length}`);
  if (expected.length === 0) return;
  const kth = expected[expected.length - 1]!.score;
  const seen = new Set<string>();
  for (let i = 0; i < actual.length; i++) {
    const hit = actual[i]!;
    const item = items.get(hit.id);
    assert.ok(item, `hit ${hit.id} is not in the store (ghost)`);
    assert.ok(!filter || filter(item.metadata ?? {}), `hit ${hit.id} fails the filter`);
    assert.ok(!seen.has(hit.id), `hit ${hit.id} twice`);
    seen.add(hit.id);
    const score = trueScore(metric, q, item.vector);
    assert.ok(Math.abs(hit.score - score) <= eps * Math.max(1, Math.abs(score)), `${hit.id}: score ${hit.score}, true score ${score}`);
    assert.ok(score >= kth - eps * Math.max(1, Math.abs(kth)), `${hit.id} (${score}) is below the k-th best (${kth})`);
    if (i > 0) assert.ok(actual[i - 1]!.score >= hit.score, 'hits are not ordered by score');
  }
  for (const e of expected) if (e.score > kth + eps * Math.max(1, Math.abs(kth))) assert.ok(seen.has(e.id), `${e.id} (${e.score}) is missing`);
}

/** Random vectors around `clusters` centres (seeded): what IVF is for. */
export function clustered(rand: () => number, n: number, d: number, clusters: number, spread = 0.15): Float32Array[] {
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: d }, () => rand() * 2 - 1));
  return Array.from({ length: n }, () => {
    const c = centres[Math.floor(rand() * clusters)]!;
    return Float32Array.from(c, (x) => x + (rand() * 2 - 1) * spread);
  });
}
