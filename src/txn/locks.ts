import { SopError } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';

/**
 * Locks held by transactions of this process. Authoritative within the process: they do not
 * depend on the Coordinator keeping its state (a Redis restart must not let two local
 * committers in, spec LOCK-1).
 */
export class LocalLocks {
  private readonly owners = new Map<string, string>();

  tryAcquire(key: string, owner: string): boolean {
    const current = this.owners.get(key);
    if (current !== undefined && current !== owner) return false;
    this.owners.set(key, owner);
    return true;
  }

  release(key: string, owner: string): void {
    if (this.owners.get(key) === owner) this.owners.delete(key);
  }

  /** Whether `owner` holds `key` in this process now (a retried release must not drop a lock taken again). */
  holds(key: string, owner: string): boolean {
    return this.owners.get(key) === owner;
  }
}

/**
 * Try-lock of a whole key set, all or nothing, so two committers never wait on each other (no
 * deadlock, spec LOCK-1): first in this process, then through the Coordinator for other
 * processes. Keys are sorted for a stable order.
 */
export class LockSet {
  /** In acquisition order (the release order); `holding` answers membership in O(1). */
  private readonly held: string[] = [];
  private readonly holding = new Set<string>();

  constructor(
    private readonly env: Env,
    private readonly local: LocalLocks,
    private readonly owner: string,
    /** Clustered: a release Redis does not confirm is retried by the process heartbeat (CLU-6). */
    private readonly release: (key: string, owner: string) => Promise<void> = (key, owner) => env.coordinator.unlock(key, owner).then(() => undefined, () => undefined), // an unreleased lock expires by its TTL
  ) {}

  /**
   * Returns the first key owned by someone else, with its owner (after releasing what it took),
   * or null. `owner` is null when the holder is another transaction of this process.
   */
  async tryLock(keys: readonly string[], ttlMs: number): Promise<{ key: string; owner: string | null } | null> {
    for (const key of [...new Set(keys)].sort()) {
      if (this.holding.has(key)) continue;
      if (!this.local.tryAcquire(key, this.owner)) return this.giveUp(key, null);
      this.held.push(key);
      this.holding.add(key);
      const other = await this.coordinator(() => this.env.coordinator.lock(key, this.owner, ttlMs));
      if (other !== null) return this.giveUp(key, other);
    }
    return null;
  }

  /** Re-checks every held key is still ours and re-arms its TTL (spec LOCK-3). */
  async verify(ttlMs: number): Promise<void> {
    for (const key of this.held) {
      if (!(await this.coordinator(() => this.env.coordinator.extend(key, this.owner, ttlMs)))) {
        throw new SopError('CONFLICT', `lock ${key} expired before the commit point; retry`);
      }
    }
  }

  async releaseAll(): Promise<void> {
    this.holding.clear();
    for (const key of this.held.splice(0)) {
      this.local.release(key, this.owner);
      await this.release(key, this.owner);
    }
  }

  private async giveUp(key: string, owner: string | null): Promise<{ key: string; owner: string | null }> {
    await this.releaseAll();
    return { key, owner };
  }

  private async coordinator<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      await this.releaseAll();
      throw new SopError('UNAVAILABLE', `coordinator: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
}
