/**
 * Decoded IVF lists kept between transactions, so that a query does not walk the B-tree entry by
 * entry (a few microseconds each) for lists nobody changed.
 *
 * Why it is never stale: an entry is keyed by the list's stamps (name@stamps), and every
 * transaction that changes a list writes a fresh uuid into one of its stamps in the same
 * transaction. A transaction that reads a list's stamps and finds them equal to a key therefore
 * reads the content cached under that key, or its read of the stamps is already out of date and
 * its commit fails validation, as any stale read does. What enters the cache was read by a
 * transaction whose commit then validated its reads, so stamps and entries are one committed
 * state (lists.ts: cacheOnCommit). A transaction that changed a list itself reads it from the
 * tree, and one that changed a list slot caches nothing it reads from that slot: what it sees
 * there is not committed content (lists.ts: listContent). Keys carry the store name; the cache
 * belongs to one Env (one Database), so nothing crosses databases.
 */
import type { Env } from '../../ports/env.js';

/** A list as queries use it: parallel arrays in key order (distance to the centroid, then id). */
export interface ListContent {
  readonly size: number;
  readonly dists: Float64Array;
  readonly ids: readonly string[];
  /** size × dimensions float32. */
  readonly vectors: Float32Array;
  /** |x| of each vector (cosine). */
  readonly norms: Float64Array;
  /** Metadata JSON text of each vector (undefined: none). */
  readonly metadata: ReadonlyArray<string | undefined>;
  readonly bytes: number;
}

/** Default budget of one database's list cache. */
export const DEFAULT_CACHE_BYTES = 256 * 2 ** 20;

export class ListCache {
  private readonly entries = new Map<string, ListContent>();
  private used = 0;

  constructor(public maxBytes = DEFAULT_CACHE_BYTES) {}

  get(key: string): ListContent | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key); // most recently used goes last
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, content: ListContent): void {
    if (content.bytes > this.maxBytes / 4) return; // one list may not flush the rest
    const old = this.entries.get(key);
    if (old) this.used -= old.bytes;
    this.entries.delete(key);
    this.entries.set(key, content);
    this.used += content.bytes;
    for (const [k, v] of this.entries) {
      if (this.used <= this.maxBytes) break;
      this.entries.delete(k);
      this.used -= v.bytes;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get usedBytes(): number {
    return this.used;
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
  }
}

const caches = new WeakMap<Env, ListCache>();

/** The list cache of the database that owns `env`. */
export function listCacheOf(env: Env): ListCache {
  let cache = caches.get(env);
  if (!cache) caches.set(env, (cache = new ListCache()));
  return cache;
}

/** Approximate bytes a decoded list holds. */
export function contentBytes(size: number, dimensions: number, metadataChars: number, idChars: number): number {
  return size * (4 * dimensions + 16 + 48) + 2 * (metadataChars + idChars) + 128;
}
