/**
 * Centroid sets. A set is written once, when its version is built, and never changed (it is
 * deleted with its version), so it is cached by its build uuid: nothing can make a cached set
 * differ from the tree.
 */
import { corrupt } from '../../errors/sop-error.js';
import { changedUnder } from './tx-helpers.js';
import type { Env } from '../../ports/env.js';
import { float64Bytes, readFloat64 } from './codec.js';
import type { VersionInfo } from './state.js';
import type { VectorTrees } from './trees.js';

export interface CentroidSet {
  readonly ver: number;
  readonly build: string;
  /** Number of centroids; list ids are 0..count-1. */
  readonly count: number;
  /** count × dimensions, row-major. */
  readonly data: Float64Array;
}

const MAX_CACHED = 64;
const caches = new WeakMap<Env, Map<string, CentroidSet>>();

function cacheOf(env: Env): Map<string, CentroidSet> {
  let cache = caches.get(env);
  if (!cache) caches.set(env, (cache = new Map()));
  return cache;
}

/** The centroids of a version: version 1 ('flat') has one at the origin. */
export async function centroidsOf(env: Env, store: string, trees: VectorTrees, version: VersionInfo, dimensions: number): Promise<CentroidSet> {
  if (version.build === 'flat') return { ver: version.ver, build: 'flat', count: 1, data: new Float64Array(dimensions) };
  const key = `${store}\u0000${version.build}`;
  const cache = cacheOf(env);
  const hit = cache.get(key);
  if (hit) return hit;
  const data = new Float64Array(version.nlist * dimensions);
  let count = 0;
  for await (const [[ver, cid], bytes] of trees.cent.range({ gte: [version.ver, 0], lt: [version.ver + 1, 0] })) {
    if (bytes.length !== dimensions * 8) throw corrupt(`vector store ${store}: centroid [${ver}, ${cid}] is malformed`);
    if (ver !== version.ver || cid !== count) throw changedUnder(`vector store ${store}: centroid [${ver}, ${cid}] is out of place`);
    readFloat64(bytes, dimensions, data, count * dimensions);
    count++;
  }
  if (count !== version.nlist) throw changedUnder(`vector store ${store}: version ${version.ver} has ${count} centroids, not ${version.nlist}`);
  return remember(cache, key, { ver: version.ver, build: version.build, count, data });
}

/** Writes a new version's centroids (its build uuid is fresh, so the cache entry is its alone). */
export async function writeCentroids(env: Env, store: string, trees: VectorTrees, ver: number, build: string, data: Float64Array, dimensions: number): Promise<CentroidSet> {
  const count = data.length / dimensions;
  for (let c = 0; c < count; c++) await trees.cent.add([ver, c], float64Bytes(data.subarray(c * dimensions, (c + 1) * dimensions)));
  return remember(cacheOf(env), `${store}\u0000${build}`, { ver, build, count, data });
}

function remember(cache: Map<string, CentroidSet>, key: string, set: CentroidSet): CentroidSet {
  cache.set(key, set);
  if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
  return set;
}
