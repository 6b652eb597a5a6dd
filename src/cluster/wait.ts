import { SopError } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';

/**
 * How long a cluster-wide wait (a short lock, a claim file) may last, and how a waiter tells a
 * dead holder from a busy one (spec CLU-6, TX-9). Before a commit point the caller's deadline
 * and signal bound the wait (TIMEOUT); after it, and in recovery, only WAIT_LIMIT_MS does
 * (UNAVAILABLE: the commit is then finished by recovery, REC-5).
 */
export interface ClusterWait {
  /** This process's id: written into what it holds, so waiters can check its liveness. */
  readonly processId: string;
  /** Whether the holder named by an owner string is a dead process (liveness.ts). */
  isDeadOwner(owner: string): Promise<boolean>;
  /** Monotonic time by which the wait must end (TIMEOUT), if any. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  /**
   * Claims found held, and since when this process watches each unchanged (monotonic): kept by
   * the process, not the call, so a claim that says nothing of its owner goes stale even when
   * each waiter gives up sooner (bounded by its maxTimeMs) than CLAIM_STALE_MS.
   */
  readonly sightings?: Map<string, { mtimeMs: number; since: number }>;
  /** Owners of this process's claim calls still running: one of its claims not among them is a leftover. */
  readonly liveClaims?: Set<string>;
  /** Declares a claim owner of this process abandoned (its file could not be removed), and asks whether one was (liveness.ts). */
  readonly abandonClaim?: (owner: string) => Promise<void>;
  readonly isAbandoned?: (owner: string) => Promise<boolean>;
  /** Releases a lock this call held; retried later when Redis does not confirm (liveness.ts). */
  readonly release?: (key: string, owner: string) => Promise<void>;
}

export const WAIT_LIMIT_MS = 60_000;

/** Throws when the wait begun at `started` must end: the caller's bound (TIMEOUT) or the overall limit (UNAVAILABLE). */
export function checkWait(env: Env, wait: ClusterWait, started: number, what: string): void {
  if (wait.signal?.aborted) throw new SopError('TIMEOUT', `aborted by its AbortSignal while waiting for ${what}`, { cause: wait.signal.reason });
  const now = env.clock.monotonic();
  if (wait.deadline !== undefined && now > wait.deadline) throw new SopError('TIMEOUT', `maxTimeMs passed while waiting for ${what}`);
  if (now - started > WAIT_LIMIT_MS) throw new SopError('UNAVAILABLE', `${what} stayed busy for ${WAIT_LIMIT_MS} ms`);
}

/** A short random pause between attempts, ended early by the signal. */
export async function pause(env: Env, wait: ClusterWait, attempt: number): Promise<void> {
  try {
    await env.clock.sleep(1 + Math.floor(env.random.nextFloat() * Math.min(50, 2 * attempt)), wait.signal);
  } catch (error) {
    throw new SopError('TIMEOUT', 'aborted by its AbortSignal while waiting', { cause: error });
  }
}
