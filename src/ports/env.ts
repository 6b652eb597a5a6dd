import type { Clock } from './clock.js';
import type { Coordinator } from './coordinator.js';
import type { FileSystem } from './file-system.js';
import type { CrashPoint } from './points.js';
import type { Random } from './random.js';

/** Everything the engine may touch outside its own memory. */
export interface Env {
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly random: Random;
  readonly coordinator: Coordinator;
  /** Who this process is, for the lock file a refused opener reads (e.g. 'pid 123 on host-a'). */
  readonly process?: string;
  /**
   * Named crash/fault points (sim/ and fault-injection/ hook them). Production: no-op.
   * Engine code calls `env.point('commit.afterPlg')` at every step the spec names.
   */
  point?(name: CrashPoint): void | Promise<void>;
}
