/** Argument checks both retrieval layers (vector store, ../search) share: all raise INVALID_ARGUMENT. */
import { isWellFormedString } from '../../codec/bytes.js';
import { invalid } from '../../errors/sop-error.js';

/** Item ids are keys of B-trees: bounded so that nodes stay small. */
export const MAX_ID_LENGTH = 1024;

export function checkId(id: unknown, what = 'id'): string {
  if (typeof id !== 'string') throw invalid(`${what} must be a string, got ${describe(id)}`);
  if (id.length === 0 || id.length > MAX_ID_LENGTH) throw invalid(`${what} must have 1..${MAX_ID_LENGTH} characters`);
  if (!isWellFormedString(id)) throw invalid(`${what} contains a lone UTF-16 surrogate`);
  return id;
}

/** k of a top-k query: an integer >= 1. */
export function checkK(k: unknown): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) throw invalid(`k must be an integer >= 1, got ${describe(k)}`);
  return k;
}

export function checkOptionsObject(options: unknown, what: string): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalid(`${what} must be an object`);
  return options as Record<string, unknown>;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return typeof v === 'object' ? (v.constructor?.name ?? 'an object') : typeof v;
}

const MAX_JSON_DEPTH = 64;

/**
 * Metadata is JSON: null, booleans, finite numbers, strings, arrays and plain objects. Anything
 * else (undefined inside, NaN, Dates, class instances, cycles) is INVALID_ARGUMENT rather than
 * silently changed by JSON.stringify. Returns the JSON text, or undefined for no metadata.
 */
export function jsonText(value: unknown, what = 'metadata'): string | undefined {
  if (value === undefined) return undefined;
  checkJson(value, what, 0, []);
  return JSON.stringify(value);
}

function checkJson(v: unknown, path: string, depth: number, ancestors: object[]): void {
  switch (typeof v) {
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(v)) throw invalid(`${path} is ${v}, which JSON cannot hold`);
      return;
    case 'string':
      if (!isWellFormedString(v)) throw invalid(`${path} contains a lone UTF-16 surrogate`);
      return;
    case 'object': {
      if (v === null) return;
      if (depth >= MAX_JSON_DEPTH) throw invalid(`${path} nests deeper than ${MAX_JSON_DEPTH} levels`);
      if (ancestors.includes(v)) throw invalid(`${path} is a cycle`);
      ancestors.push(v);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          if (!(i in v)) throw invalid(`${path}[${i}] is a hole`);
          checkJson(v[i], `${path}[${i}]`, depth + 1, ancestors);
        }
      } else {
        const proto: unknown = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) throw invalid(`${path} is a ${describe(v)}, not a plain object`);
        for (const [key, child] of Object.entries(v)) checkJson(child, `${path}.${key}`, depth + 1, ancestors);
      }
      ancestors.pop();
      return;
    }
    default:
      throw invalid(`${path} is ${describe(v)}, which JSON cannot hold`);
  }
}
