/**
 * Helpers the two retrieval layers share (the vector store here and the BM25 index in
 * ../search): argument checks, the write guard, per-transaction state, a hash and top-k.
 */
import { isWellFormedString } from '../../codec/bytes.js';
import { SopError, invalid, toSopError } from '../../errors/sop-error.js';
import type { Transaction } from '../../txn/transaction.js';

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

/**
 * A layer operation that writes several B-trees must never leave half its writes in a
 * transaction the caller could still commit (spec API-2): any failure once writing began rolls
 * the transaction back. Argument errors are raised before `op` runs, so they never get here.
 */
export async function guardWrite<T>(tx: Transaction, what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (error) {
    if (tx.state === 'active') await tx.rollback().catch(() => undefined); // the operation's error is the caller's
    throw toSopError(error, what);
  }
}

/**
 * Two trees of a layer disagree as this transaction reads them. Reads are not a snapshot: a
 * commit between two reads shows one tree before it and the other after, and the commit of this
 * transaction would fail validation anyway. So this is a CONFLICT to retry; were it a bug
 * instead, verify() reports the disagreement.
 */
export function changedUnder(what: string): SopError {
  return new SopError('CONFLICT', `${what}: a concurrent commit changed the store while this transaction read it; retry`);
}

/** Per-transaction state of a layer store, shared by every handle of it in that transaction. */
export class TxLocal<T> {
  private readonly map = new WeakMap<Transaction, Map<string, T>>();

  get(tx: Transaction, store: string, make: () => T): T {
    let stores = this.map.get(tx);
    if (!stores) this.map.set(tx, (stores = new Map()));
    let value = stores.get(store);
    if (value === undefined) stores.set(store, (value = make()));
    return value;
  }
}

/** 32-bit FNV-1a over UTF-16 code units with murmur3's finalizer: an even spread for any ids. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** Ranking order of both layers: higher score first, then smaller id (so results are deterministic). */
export function better(scoreA: number, idA: string, scoreB: number, idB: string): boolean {
  return scoreA > scoreB || (scoreA === scoreB && idA < idB);
}

/**
 * The k best (score, id) pairs seen so far: a binary heap whose root is the worst kept. `worst`
 * is the bar a new candidate must beat once the heap is full.
 */
export class TopK<T extends { id: string; score: number }> {
  private readonly heap: T[] = [];

  constructor(readonly k: number) {}

  get full(): boolean {
    return this.heap.length >= this.k;
  }

  /** The score to beat (-Infinity until k are kept). */
  get bar(): number {
    return this.full ? this.heap[0]!.score : -Infinity;
  }

  /** Whether (score, id) would be kept: cheap test before the caller builds the entry. */
  admits(score: number, id: string): boolean {
    if (!this.full) return true;
    const worst = this.heap[0]!;
    return better(score, id, worst.score, worst.id);
  }

  push(entry: T): void {
    if (!this.full) {
      this.heap.push(entry);
      this.up(this.heap.length - 1);
    } else if (this.admits(entry.score, entry.id)) {
      this.heap[0] = entry;
      this.down(0);
    }
  }

  /** Best first. */
  sorted(): T[] {
    return [...this.heap].sort((a, b) => (better(a.score, a.id, b.score, b.id) ? -1 : 1));
  }

  private worse(i: number, j: number): boolean {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    return better(b.score, b.id, a.score, a.id);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.worse(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.worse(l, m)) m = l;
      if (r < n && this.worse(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const t = this.heap[i]!;
    this.heap[i] = this.heap[j]!;
    this.heap[j] = t;
  }
}
