import { SopError } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';

/**
 * Try-lock of a whole key set through the Coordinator: all or nothing, so two committers can
 * never wait on each other (no deadlock, spec LOCK-1). Keys are sorted for a stable order.
 */
export class LockSet {
  private readonly held: string[] = [];

  constructor(
    private readonly env: Env,
    private readonly owner: string,
  ) {}

  /** Returns the first key owned by someone else (after releasing what it took), or null. */
  async tryLock(keys: readonly string[], ttlMs: number): Promise<string | null> {
    for (const key of [...new Set(keys)].sort()) {
      if (this.held.includes(key)) continue;
      const other = await this.env.coordinator.lock(key, this.owner, ttlMs);
      if (other !== null) {
        await this.releaseAll();
        return key;
      }
      this.held.push(key);
    }
    return null;
  }

  /** Re-checks that every held key is still ours (a TTL may have expired, spec LOCK-3). */
  async verify(ttlMs: number): Promise<void> {
    for (const key of this.held) {
      if (!(await this.env.coordinator.extend(key, this.owner, ttlMs))) {
        throw new SopError('CONFLICT', `lock ${key} expired before the commit point; retry`);
      }
    }
  }

  async releaseAll(): Promise<void> {
    const keys = this.held.splice(0);
    for (const key of keys) await this.env.coordinator.unlock(key, this.owner).catch(() => false);
  }
}
