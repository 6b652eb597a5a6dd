/**
 * Analyzers turn text into terms. The standard one, so that scores compare with other BM25
 * implementations: maximal runs of Unicode letters (\p{L}) and decimal digits (\p{Nd}), each
 * lower-cased; no stemming, no stop words. Any other analyzer is a function the caller passes
 * (again on every open, like a B-tree comparer): its terms are checked like any input.
 */
import { isWellFormedString } from '../../codec/bytes.js';
import { SopError, invalid } from '../../errors/sop-error.js';
import { describe } from '../vector/args.js';

export type Analyzer = (text: string) => string[];

const RUN = /[\p{L}\p{Nd}]+/gu;

export function standardAnalyzer(text: string): string[] {
  return (text.match(RUN) ?? []).map((run) => run.toLowerCase());
}

/** Terms of a text by `analyzer`; INVALID_ARGUMENT when the text is not a string or the analyzer misbehaves. */
export function analyze(analyzer: Analyzer, text: unknown, what: string): string[] {
  if (typeof text !== 'string') throw invalid(`${what} must be a string, got ${describe(text)}`);
  if (!isWellFormedString(text)) throw invalid(`${what} contains a lone UTF-16 surrogate`);
  if (analyzer === standardAnalyzer) return standardAnalyzer(text);
  let terms: unknown;
  try {
    terms = analyzer(text);
  } catch (error) {
    throw new SopError('INVALID_ARGUMENT', `the analyzer threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (!Array.isArray(terms)) throw invalid(`the analyzer must return an array of strings, got ${describe(terms)}`);
  for (const term of terms) {
    if (typeof term !== 'string' || term.length === 0 || !isWellFormedString(term) || term.includes('\u0000')) {
      throw invalid(`the analyzer returned a term that is not a non-empty string without NUL: ${describe(term)}`);
    }
  }
  return terms as string[];
}

/** Term frequencies, terms in first-appearance order. */
export function termFrequencies(terms: readonly string[]): Map<string, number> {
  const tf = new Map<string, number>();
  for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
  return tf;
}
