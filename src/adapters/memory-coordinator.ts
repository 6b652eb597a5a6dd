import type { Clock } from '../ports/clock.js';
import type { Coordinator } from '../ports/coordinator.js';
import type { Random } from '../ports/random.js';

interface Entry<T> {
  value: T;
  expiresAt: number;
}

/**
 * In-process Coordinator for standalone mode: cache and locks in two maps with TTLs read
 * from the Clock port (so the simulator's clock drives expiry). Cache entries are bounded;
 * locks are never evicted (E121's hazard: evicting a lock breaks mutual exclusion).
 */
export class MemoryCoordinator implements Coordinator {
  readonly kind = 'memory' as const;
  private readonly cache = new Map<string, Entry<Uint8Array>>();
  private readonly locks = new Map<string, Entry<string>>();
  private readonly id: string;

  constructor(
    private readonly clock: Clock,
    random: Random,
    private readonly maxCacheEntries = 10_000,
  ) {
    this.id = random.uuid();
  }

  async runId(): Promise<string> {
    return this.id;
  }

  async cacheGet(key: string): Promise<Uint8Array | null> {
    const entry = this.live(this.cache, key);
    if (!entry) return null;
    this.cache.delete(key); // re-insert: Map order is the LRU order
    this.cache.set(key, entry);
    return entry.value;
  }

  async cacheSet(key: string, value: Uint8Array, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) return;
    this.cache.delete(key);
    this.cache.set(key, { value, expiresAt: this.clock.monotonic() + ttlMs });
    while (this.cache.size > this.maxCacheEntries) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }

  async cacheDelete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.cache.delete(key);
  }

  async lock(key: string, owner: string, ttlMs: number): Promise<string | null> {
    const current = this.live(this.locks, key);
    if (current && current.value !== owner) return current.value;
    this.locks.set(key, { value: owner, expiresAt: this.clock.monotonic() + ttlMs });
    return null;
  }

  async unlock(key: string, owner: string): Promise<boolean> {
    const current = this.live(this.locks, key);
    if (!current || current.value !== owner) return false;
    this.locks.delete(key);
    return true;
  }

  async extend(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const current = this.live(this.locks, key);
    if (!current || current.value !== owner) return false;
    current.expiresAt = this.clock.monotonic() + ttlMs;
    return true;
  }

  async owner(key: string): Promise<string | null> {
    return this.live(this.locks, key)?.value ?? null;
  }

  async close(): Promise<void> {
    this.cache.clear();
    this.locks.clear();
  }

  private live<T>(map: Map<string, Entry<T>>, key: string): Entry<T> | undefined {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= this.clock.monotonic()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }
}
