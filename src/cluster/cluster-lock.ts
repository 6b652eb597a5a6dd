import { SopError, toSopError } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import { ownerOf } from './liveness.js';
import { type ClusterWait, checkWait, pause } from './wait.js';

/** How long a short critical section (a sector rewrite, a count update) may hold its lock. */
export const SHORT_LOCK_TTL_MS = 30_000;

/**
 * Runs `task` while holding every key through the Coordinator, taken in sorted order with
 * backoff (no deadlock: a holder of a short lock never waits for another one it does not
 * already hold in this order). Used for the cluster-wide critical sections that are short and
 * must not fail on contention: registry sector rewrites (spec CLU-2) and store count updates
 * (spec CLU-3). The owner is unique per call (and names this process), so two tasks in one
 * process exclude each other and a waiter breaks the lock of a dead process at once (CLU-6).
 */
export async function withClusterLocks<T>(env: Env, keys: readonly string[], wait: ClusterWait, task: () => Promise<T>): Promise<T> {
  const owner = ownerOf(env.random.uuid(), wait.processId);
  const sorted = [...new Set(keys)].sort();
  const held: string[] = [];
  const started = env.clock.monotonic();
  const release = wait.release ?? ((key: string, by: string) => env.coordinator.unlock(key, by).then(() => undefined, () => undefined)); // without a heartbeat, an unreleased lock expires by its TTL
  try {
    for (const key of sorted) {
      for (let attempt = 1; ; attempt++) {
        // A lock whose reply was lost may be ours all the same: counted as held, so the finally
        // releases it (compare-and-delete on this call's owner; found by the clustered seed
        // 1688641135, where such a lock held off every process until its 30 s TTL).
        held.push(key);
        const other = await coordinatorCall(() => env.coordinator.lock(key, owner, SHORT_LOCK_TTL_MS));
        if (other === null) break;
        held.pop();
        if (await coordinatorCall(() => wait.isDeadOwner(other))) {
          await coordinatorCall(() => env.coordinator.unlock(key, other)); // compare-and-delete: only that dead owner's lock
          continue;
        }
        checkWait(env, wait, started, `cluster lock ${key} (held by ${other})`);
        await pause(env, wait, attempt);
      }
    }
    return await task();
  } finally {
    for (const key of held) await release(key, owner);
  }
}

async function coordinatorCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (SopError.is(error)) throw error;
    throw new SopError('UNAVAILABLE', `coordinator: ${toSopError(error, 'cluster lock').message}`, { cause: error });
  }
}
