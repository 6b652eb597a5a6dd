import { SopError, toSopError } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';

/** How long a short critical section (a sector rewrite, a count update) may hold its lock. */
export const SHORT_LOCK_TTL_MS = 30_000;
/** How long a waiter keeps trying before the operation fails with UNAVAILABLE. */
const WAIT_LIMIT_MS = 60_000;

/**
 * Runs `task` while holding every key through the Coordinator, taken in sorted order with
 * backoff (no deadlock: a holder of a short lock never waits for another one it does not
 * already hold in this order). Used for the cluster-wide critical sections that are short and
 * must not fail on contention: registry sector rewrites (spec CLU-2) and store count updates
 * (spec CLU-3). The owner is unique per call, so two tasks in one process exclude each other.
 */
export async function withClusterLocks<T>(env: Env, keys: readonly string[], task: () => Promise<T>): Promise<T> {
  const owner = env.random.uuid();
  const sorted = [...new Set(keys)].sort();
  const held: string[] = [];
  const started = env.clock.monotonic();
  try {
    for (const key of sorted) {
      for (let attempt = 1; ; attempt++) {
        const other = await coordinatorCall(() => env.coordinator.lock(key, owner, SHORT_LOCK_TTL_MS));
        if (other === null) break;
        if (env.clock.monotonic() - started > WAIT_LIMIT_MS) {
          throw new SopError('UNAVAILABLE', `cluster lock ${key} stayed busy for ${WAIT_LIMIT_MS} ms (held by ${other})`);
        }
        await env.clock.sleep(1 + Math.floor(env.random.nextFloat() * Math.min(50, 2 * attempt)));
      }
      held.push(key);
    }
    return await task();
  } finally {
    for (const key of held) await env.coordinator.unlock(key, owner).catch(() => false);
  }
}

async function coordinatorCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new SopError('UNAVAILABLE', `coordinator: ${toSopError(error, 'cluster lock').message}`, { cause: error });
  }
}
