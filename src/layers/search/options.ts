/** Options of a search index: checked before anything is written, stored with the index, compared on open. */
import { corrupt, invalid } from '../../errors/sop-error.js';
import { checkOptionsObject, describe } from '../vector/args.js';
import { type Analyzer, standardAnalyzer } from './analyzer.js';

export interface SearchIndexOptions {
  /** Term-frequency saturation (finite, >= 0). Default 1.2. */
  k1?: number;
  /** Length normalisation (0..1). Default 0.75. */
  b?: number;
  /** Text to terms; default: lower-cased runs of Unicode letters and digits. A custom one must be passed on every open. */
  analyzer?: Analyzer;
}

/** What is stored in the main tree's StoreInfo (`layer`). */
export interface SearchLayer {
  k1: number;
  b: number;
  analyzer: 'standard' | 'custom';
}

export const DEFAULT_K1 = 1.2;
export const DEFAULT_B = 0.75;

export function checkSearchOptions(options: unknown): { layer: SearchLayer; analyzer: Analyzer } {
  const o = checkOptionsObject(options ?? {}, 'search index options');
  const { k1 = DEFAULT_K1, b = DEFAULT_B, analyzer } = o;
  if (typeof k1 !== 'number' || !Number.isFinite(k1) || k1 < 0) throw invalid(`k1 must be a finite number >= 0, got ${describe(k1)}`);
  if (typeof b !== 'number' || !(b >= 0 && b <= 1)) throw invalid(`b must be a number in 0..1, got ${describe(b)}`);
  if (analyzer !== undefined && typeof analyzer !== 'function') throw invalid(`analyzer must be a function (text) => string[], got ${describe(analyzer)}`);
  return { layer: { k1, b, analyzer: analyzer ? 'custom' : 'standard' }, analyzer: (analyzer as Analyzer | undefined) ?? standardAnalyzer };
}

/** Options given must match the existing index; omitted ones are taken from it (as for B-trees). */
export function checkSameOptions(name: string, stored: SearchLayer, given: Record<string, unknown>, wanted: SearchLayer): void {
  for (const key of ['k1', 'b'] as const) {
    if (given[key] !== undefined && stored[key] !== wanted[key]) throw invalid(`search index ${name} exists with ${key}=${stored[key]}, not ${wanted[key]}`);
  }
  if (stored.analyzer !== wanted.analyzer) {
    throw invalid(stored.analyzer === 'custom'
      ? `search index ${name} was created with a custom analyzer: pass it again (newSearchIndex(tx, name, { analyzer }))`
      : `search index ${name} was created with the standard analyzer, not a custom one`);
  }
}

export function storedLayer(name: string, layer: Record<string, unknown>): SearchLayer {
  const { k1, b, analyzer } = layer;
  if (typeof k1 !== 'number' || typeof b !== 'number' || (analyzer !== 'standard' && analyzer !== 'custom')) {
    throw corrupt(`search index ${name} has malformed stored options ${JSON.stringify(layer)}`);
  }
  return { k1, b, analyzer };
}
