interface Entry<V> {
  value: V;
  /** Tick of the entry's last move to the most recent end. */
  stamp: number;
}

/**
 * A bounded least-recently-used map. Map insertion order is the recency order. A hit moves its
 * entry to the most recent end only when it is not among the most recent quarter already: an
 * entry that is read again and again (the root, the upper levels) then costs one lookup per hit
 * instead of a delete and an insert, and it still never reaches the eviction end while in use.
 * Capacities below 4 move on every hit (exact LRU).
 */
export class Lru<K, V> {
  private readonly map = new Map<K, Entry<V>>();
  private tick = 0;
  private readonly fresh: number;

  constructor(private readonly capacity: number) {
    this.fresh = Math.floor(capacity / 4);
  }

  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    if (this.tick - entry.stamp >= this.fresh) {
      this.map.delete(key);
      this.map.set(key, entry);
      entry.stamp = ++this.tick;
    }
    return entry.value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, { value, stamp: ++this.tick });
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}
