/**
 * What a B-tree key may be and how keys are ordered. The order is part of the persisted store
 * info (KeyOrderSpec), so it must be deterministic, total and independent of the JS runtime.
 *
 * Natural order ranks by type first:
 *   boolean < number|bigint < string < Date < Uint8Array < array < plain object
 * and within a type: false < true; numbers and bigints exactly by numeric value (1 equals 1n,
 * -0 equals 0); strings by UTF-16 code units; Dates by time; bytes lexicographically then by
 * length; arrays element-wise then by length; objects by their sorted key names (as an array of
 * strings), then by their values taken in that sorted key order.
 */
import { SopError, corrupt, invalid } from '../errors/sop-error.js';
import type { KeyCompare } from '../btree/node.js';
import { isWellFormedString } from './bytes.js';
import { MAX_VALUE_DEPTH, describeObject, formatPath } from './value-codec.js';

export type KeyOrderSpec =
  | { kind: 'natural' }
  | { kind: 'fields'; fields: Array<{ field: string | number; order: 'asc' | 'desc' }> };

export type UserKeyCompare = (a: unknown, b: unknown) => number;

const enum Rank {
  Boolean = 0,
  Numeric = 1,
  String = 2,
  Date = 3,
  Bytes = 4,
  Array = 5,
  Object = 6,
}

// ---------------------------------------------------------------------------------------------
// Validation

/** Throws INVALID_ARGUMENT unless `key` may be stored under `spec`. */
export function validateKey(key: unknown, spec: KeyOrderSpec): void {
  if (spec.kind === 'natural') {
    // The common scalar keys are checked here: no path or ancestor stacks to allocate.
    if (typeof key === 'string' && isWellFormedString(key)) return;
    if (typeof key === 'number' && !Number.isNaN(key)) return;
    checkKey(key, 'key', [], []);
    return;
  }
  for (const { field } of spec.fields) checkKey(fieldOf(key, field), 'key', [field], []);
}

function checkKey(v: unknown, root: string, path: Array<string | number>, ancestors: object[]): void {
  const fail = (problem: string) => invalid(`${formatPath(root, path)} ${problem}`);
  switch (typeof v) {
    case 'boolean':
    case 'bigint':
      return;
    case 'number':
      if (Number.isNaN(v)) throw fail('is NaN, which has no place in a key order');
      return;
    case 'string':
      if (!isWellFormedString(v)) throw fail('is a string with a lone UTF-16 surrogate');
      return;
    case 'object': {
      if (v === null) throw fail('is null, which is not a valid key');
      if (v instanceof Uint8Array) return;
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) throw fail('is an invalid Date');
        return;
      }
      const children = childrenOf(v, fail);
      if (ancestors.includes(v)) throw fail('is a cycle (the key contains itself)');
      if (ancestors.length >= MAX_VALUE_DEPTH) throw fail(`nests deeper than ${MAX_VALUE_DEPTH} levels`);
      ancestors.push(v);
      for (const [segment, child] of children) {
        path.push(segment);
        checkKey(child, root, path, ancestors);
        path.pop();
      }
      ancestors.pop();
      return;
    }
    default:
      throw fail(`is ${v === undefined ? 'undefined' : `a ${typeof v}`}, which is not a valid key`);
  }
}

/** Entries of an array or plain-object key; anything else is not a key. */
function childrenOf(v: object, fail: (problem: string) => SopError): Array<[string | number, unknown]> {
  const proto: unknown = Object.getPrototypeOf(v);
  if (Array.isArray(v) && proto === Array.prototype) {
    // Array.from, not map: map skips holes, and a hole must be reported as undefined.
    return Array.from(v, (child, i): [number, unknown] => [i, child]);
  }
  if (proto !== Object.prototype && proto !== null) throw fail(`is ${describeObject(v)}, which is not a valid key`);
  if (Object.getOwnPropertySymbols(v).length > 0) throw fail('has symbol-keyed properties');
  return Object.keys(v).map((k) => {
    if (!isWellFormedString(k)) throw fail('has a property name with a lone UTF-16 surrogate');
    return [k, (v as Record<string, unknown>)[k]];
  });
}

/** The declared field of a 'fields'-ordered key; INVALID_ARGUMENT if the key lacks it. */
function fieldOf(key: unknown, field: string | number): unknown {
  if (typeof key !== 'object' || key === null || key instanceof Date || key instanceof Uint8Array) {
    throw invalid(`key must be an object holding the fields of the key order, got ${describeKey(key)}`);
  }
  if (Array.isArray(key) && typeof field !== 'number') {
    throw invalid(`key is an array but the key order names field ${JSON.stringify(field)}`);
  }
  if (!Object.hasOwn(key, field)) throw invalid(`key lacks field ${JSON.stringify(field)} required by the key order`);
  return (key as Record<string | number, unknown>)[field];
}

function describeKey(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return describeObject(v);
}

// ---------------------------------------------------------------------------------------------
// Comparison

/**
 * The comparer for a store. A user comparer replaces the spec's order (the spec still governs
 * validation); it is guarded so that a bad result becomes INVALID_ARGUMENT, not a broken tree.
 */
export function makeKeyCompare(spec: KeyOrderSpec, userCompare?: UserKeyCompare): KeyCompare {
  if (userCompare !== undefined) return guardUserCompare(userCompare);
  if (spec.kind === 'natural') return compareNaturalFast;
  const fields = spec.fields.map((f) => ({ field: f.field, sign: f.order === 'desc' ? -1 : 1 }));
  return (a, b) => {
    for (const { field, sign } of fields) {
      const c = compareNatural(fieldOf(a, field), fieldOf(b, field), 0);
      if (c !== 0) return sign * c;
    }
    return 0;
  };
}

function guardUserCompare(user: UserKeyCompare): KeyCompare {
  return (a, b) => {
    let r: unknown;
    try {
      r = user(a, b);
    } catch (error) {
      if (SopError.is(error, 'INVALID_ARGUMENT')) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw new SopError('INVALID_ARGUMENT', `key comparer threw: ${detail}`, { cause: error });
    }
    if (typeof r !== 'number' || !Number.isFinite(r)) {
      throw invalid(`key comparer returned ${typeof r === 'number' ? String(r) : typeof r}; it must return a finite number`);
    }
    return r < 0 ? -1 : r > 0 ? 1 : 0;
  };
}

/** compareNatural with the two-strings case (the common key type) answered first, identically. */
function compareNaturalFast(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return compareNatural(a, b, 0);
}

/** Natural order; throws INVALID_ARGUMENT on values that are not keys. */
export function compareNatural(a: unknown, b: unknown, depth = 0): number {
  if (depth > MAX_VALUE_DEPTH) throw invalid(`key nests deeper than ${MAX_VALUE_DEPTH} levels`);
  const ra = rankOf(a);
  const rb = rankOf(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case Rank.Boolean:
    case Rank.String:
      return cmp(a as string, b as string);
    case Rank.Numeric:
      return compareNumeric(a as number | bigint, b as number | bigint);
    case Rank.Date:
      return cmp((a as Date).getTime(), (b as Date).getTime());
    case Rank.Bytes:
      return compareBytes(a as Uint8Array, b as Uint8Array);
    case Rank.Array:
      return compareArrays(a as unknown[], b as unknown[], depth);
    case Rank.Object:
      return compareObjects(a as Record<string, unknown>, b as Record<string, unknown>, depth);
  }
}

function cmp<T extends string | number | boolean | bigint>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rankOf(v: unknown): Rank {
  switch (typeof v) {
    case 'number':
      if (Number.isNaN(v)) throw invalid('key is NaN, which has no place in a key order');
      return Rank.Numeric;
    case 'bigint':
      return Rank.Numeric;
    case 'string':
      return Rank.String;
    case 'boolean':
      return Rank.Boolean;
    case 'object':
      if (v === null) break;
      if (v instanceof Uint8Array) return Rank.Bytes;
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) throw invalid('key is an invalid Date');
        return Rank.Date;
      }
      if (Array.isArray(v)) return Rank.Array;
      if (isPlainObject(v)) return Rank.Object;
      break;
  }
  throw invalid(`key is ${describeKey(v)}, which is not a valid key`);
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Exact, even across number/bigint: 2**53 < 2n**53n + 1n although Number() would say equal. */
export function compareNumeric(a: number | bigint, b: number | bigint): number {
  if (typeof a === typeof b) return cmp(a, b);
  if (typeof a === 'number') return compareNumberBigInt(a, b as bigint);
  const c = compareNumberBigInt(b as number, a as bigint);
  return c === 0 ? 0 : -c; // not -c: -0 would leak out
}

function compareNumberBigInt(a: number, b: bigint): number {
  if (a === Infinity) return 1;
  if (a === -Infinity) return -1;
  const floor = Math.floor(a);
  const fb = BigInt(floor);
  if (fb !== b) return fb < b ? -1 : 1;
  return a === floor ? 0 : 1;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return cmp(a.length, b.length);
}

function compareArrays(a: unknown[], b: unknown[], depth: number): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareNatural(a[i], b[i], depth + 1);
    if (c !== 0) return c;
  }
  return cmp(a.length, b.length);
}

function compareObjects(a: Record<string, unknown>, b: Record<string, unknown>, depth: number): number {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
  if (ka.length !== kb.length) return cmp(ka.length, kb.length);
  for (const k of ka) {
    const c = compareNatural(a[k], b[k], depth + 1);
    if (c !== 0) return c;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Persisted spec

/**
 * Checks a spec's shape and returns a normalised copy. A bad spec from the user is
 * INVALID_ARGUMENT; one read back from disk is CORRUPT.
 */
export function validateKeyOrderSpec(x: unknown, source: 'user' | 'disk'): KeyOrderSpec {
  const fail = (problem: string) =>
    source === 'user' ? invalid(`key order: ${problem}`) : corrupt(`stored key order: ${problem}`);
  if (typeof x !== 'object' || x === null) throw fail('must be an object');
  const o = x as Record<string, unknown>;
  if (o.kind === 'natural') return { kind: 'natural' };
  if (o.kind !== 'fields') throw fail(`unknown kind ${JSON.stringify(o.kind) ?? String(o.kind)}`);
  if (!Array.isArray(o.fields) || o.fields.length === 0) throw fail('fields must be a non-empty array');
  const seen = new Set<string>();
  const fields = o.fields.map((f: unknown, i) => {
    const { field, order } = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
    const okField = (typeof field === 'string' && isWellFormedString(field)) || (Number.isSafeInteger(field) && (field as number) >= 0);
    if (!okField) throw fail(`fields[${i}].field must be a string or a non-negative integer`);
    if (order !== 'asc' && order !== 'desc') throw fail(`fields[${i}].order must be "asc" or "desc"`);
    // 1 and "1" name the same property.
    if (seen.has(String(field))) throw fail(`field ${JSON.stringify(field)} is listed twice`);
    seen.add(String(field));
    return { field: field as string | number, order: order as 'asc' | 'desc' };
  });
  return { kind: 'fields', fields };
}
