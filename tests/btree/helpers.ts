/** Shared fixtures for the B-tree tests: a numeric comparer, item factory, seeded PRNG. */
import { BTree } from '../../src/btree/btree.js';
import type { Item, KeyCompare } from '../../src/btree/node.js';
import { SopError } from '../../src/errors/sop-error.js';
import { MemoryAccess, MemoryNodeStore } from './memory-access.js';

/** Natural order on numbers; anything else is rejected like a real comparer would. */
export const numberCompare: KeyCompare = (a, b) => {
  if (typeof a !== 'number' || typeof b !== 'number') throw new SopError('INVALID_ARGUMENT', 'keys must be numbers');
  return a < b ? -1 : a > b ? 1 : 0;
};

/** A payload for tests: the bytes of a value's string form. */
export function payload(value: unknown): Uint8Array {
  return new TextEncoder().encode(String(value));
}

export function item(key: number, id: string, value?: unknown): Item {
  return value === undefined ? { key, id, version: 1 } : { key, id, version: 1, valueBytes: payload(value) };
}

export interface Fixture {
  store: MemoryNodeStore;
  access: MemoryAccess;
  tree: BTree;
}

export function makeTree(slotLength: number, unique: boolean, strict = true): Fixture {
  const store = new MemoryNodeStore();
  const access = store.begin({ strict });
  const tree = new BTree(access, { slotLength, unique, compare: numberCompare });
  return { store, access, tree };
}

/** Deterministic PRNG (mulberry32). */
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

export function shuffle<T>(values: T[], rnd: () => number): T[] {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

/** Keys in cursor order from first to last (or last to first). */
export async function walk(tree: BTree, backward = false): Promise<Item[]> {
  const out: Item[] = [];
  let ok = backward ? await tree.last() : await tree.first();
  while (ok) {
    out.push(tree.current()!);
    ok = backward ? await tree.previous() : await tree.next();
  }
  return out;
}

export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<SopError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SopError && error.code === code) return error;
    throw error;
  }
  throw new Error(`expected a SopError ${code}`);
}
