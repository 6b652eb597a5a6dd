/**
 * Coordinator port: the L2 cache and the lock service. Standalone uses the in-process
 * adapter; the clustered mode plugs in Redis; the simulator supplies its own. Keys are
 * already namespaced by the caller (see src/txn/lock-keys.ts).
 *
 * All TTLs are milliseconds and > 0. Values are opaque bytes for the cache and short
 * strings (owner ids) for locks.
 */
export interface Coordinator {
  readonly kind: 'memory' | 'redis' | 'simulated';
  /** Changes whenever the coordinator lost its state (a Redis restart): triggers recovery sweeps. */
  runId(): Promise<string>;

  cacheGet(key: string): Promise<Uint8Array | null>;
  cacheSet(key: string, value: Uint8Array, ttlMs: number): Promise<void>;
  cacheDelete(keys: readonly string[]): Promise<void>;

  /** Sets `key` to `owner` when absent. Returns null on success, else the current owner. */
  lock(key: string, owner: string, ttlMs: number): Promise<string | null>;
  /** Atomic compare-and-delete: deletes only when the value is `owner`. */
  unlock(key: string, owner: string): Promise<boolean>;
  /** Atomic compare-and-expire: re-arms the TTL only when the value is `owner`. */
  extend(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Current owner, or null. */
  owner(key: string): Promise<string | null>;

  close(): Promise<void>;
}
