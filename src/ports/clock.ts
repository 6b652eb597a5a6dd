/**
 * Clock port. Wall time may jump (and the simulator rewinds it); monotonic time never goes
 * back. Engine code measures durations with `monotonic` and stamps records with `now`.
 */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch. */
  now(): number;
  /** Milliseconds from an arbitrary origin; never decreases. */
  monotonic(): number;
  /**
   * Resolves after `ms`; rejects with the signal's reason when aborted. `background`: the wait
   * alone must not keep the process running (a heartbeat of a database the user forgot to close).
   */
  sleep(ms: number, signal?: AbortSignal, background?: boolean): Promise<void>;
}
