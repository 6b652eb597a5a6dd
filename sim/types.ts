/**
 * Seams between the simulator's parts. One `Simulator(seed)` owns the event queue and the PRNG;
 * simulated devices (disks, Redis, clocks) ask it when each operation completes, and a node's
 * `Gate` decides whether a completion may still reach the node's code (a crashed node's pending
 * and future operations never complete).
 */

/** Decides when a simulated operation completes. */
export interface IoScheduler {
  /**
   * Resolves when the simulator's event loop chooses to complete this operation (after a
   * virtual latency drawn from the seed). `label` names the operation in the trace, e.g.
   * `d0.write /db/translogs/x.log`.
   */
  complete(label: string): Promise<void>;
}

/** A simulated process incarnation. */
export interface Gate {
  /** False once the process crashed; its code must never run again. */
  alive(): boolean;
  /** A promise that never settles: what every call of a dead process returns. */
  hang<T>(): Promise<T>;
}

/** The seeded PRNG every simulated part draws from (labels make divergences findable). */
export interface SimRandom {
  /** Uniform in [0, 1). */
  float(label: string): number;
  /** Uniform integer in [0, n). */
  int(n: number, label: string): number;
  /** True with probability p. */
  chance(p: number, label: string): boolean;
}
