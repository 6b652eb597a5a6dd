/** Options of a vector store: checked before anything is written, stored with the store, compared on open. */
import { corrupt, invalid } from '../../errors/sop-error.js';
import { METRICS, type Metric } from './metric.js';
import { checkOptionsObject, describe } from './args.js';

export interface VectorStoreOptions {
  /** Length of every vector (1..65536). */
  dimensions: number;
  /** 'cosine' (default), 'l2' or 'dot'; scores are higher-is-better for all three (README). */
  metric?: Metric;
  /**
   * The count at which the store first clusters its vectors into IVF lists (default 1024);
   * it re-clusters each time the count doubles since the last clustering. Until then a query
   * scans every vector.
   */
  clusterAt?: number;
}

/** What is stored in the main tree's StoreInfo (`layer`). */
export interface VectorLayer {
  dimensions: number;
  metric: Metric;
  clusterAt: number;
}

export const DEFAULT_CLUSTER_AT = 1024;
export const MAX_DIMENSIONS = 65_536;

export function checkVectorOptions(options: unknown): VectorLayer {
  const o = checkOptionsObject(options, 'vector store options');
  const { dimensions, metric = 'cosine', clusterAt = DEFAULT_CLUSTER_AT } = o;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS) {
    throw invalid(`dimensions must be an integer in 1..${MAX_DIMENSIONS}, got ${describe(dimensions)}`);
  }
  if (!METRICS.includes(metric as Metric)) throw invalid(`metric must be one of ${METRICS.join(', ')}, got ${describe(metric)}`);
  if (typeof clusterAt !== 'number' || !Number.isInteger(clusterAt) || clusterAt < 2) throw invalid(`clusterAt must be an integer >= 2, got ${describe(clusterAt)}`);
  return { dimensions, metric: metric as Metric, clusterAt };
}

/** Options given must match the existing store; omitted ones are taken from it (as for B-trees). */
export function checkSameOptions(name: string, stored: VectorLayer, given: Record<string, unknown>, wanted: VectorLayer): void {
  for (const key of ['dimensions', 'metric', 'clusterAt'] as const) {
    if (given[key] !== undefined && stored[key] !== wanted[key]) {
      throw invalid(`vector store ${name} exists with ${key}=${String(stored[key])}, not ${String(wanted[key])}`);
    }
  }
}

/** The stored options, checked (a store of kind 'vector' always has them). */
export function storedLayer(name: string, layer: Record<string, unknown>): VectorLayer {
  try {
    return checkVectorOptions(layer);
  } catch (error) {
    throw corrupt(`vector store ${name} has malformed stored options ${JSON.stringify(layer)}`, error);
  }
}
