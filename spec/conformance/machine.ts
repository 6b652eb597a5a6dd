/**
 * A deterministic machine for trace replay: one SimDisk (power-loss semantics of sim/), an
 * immediate IoScheduler (every I/O completes in the same microtask flow, so nothing runs
 * unless the replay drives it), a ProcessGate per process incarnation, a manual clock and a
 * seeded Random. Named points (`env.point`) are routed to a hook, which lets the replay pause
 * a commit exactly where the model's next action ends.
 */
import { MemoryCoordinator } from '../../src/adapters/memory-coordinator.js';
import { SeededRandom } from '../../src/adapters/seeded-random.js';
import { Database } from '../../src/database/database.js';
import type { Clock } from '../../src/ports/clock.js';
import type { Env } from '../../src/ports/env.js';
import { ProcessGate } from '../../sim/gate.js';
import { SeededSimRandom } from '../../sim/random.js';
import { SimDisk } from '../../sim/sim-disk.js';
import type { IoScheduler } from '../../sim/types.js';

export const FOLDER = '/db';

/** Time moves only when the engine sleeps (lock backoff): the replay never expects that. */
export class ManualClock implements Clock {
  private mono = 0;
  sleeps = 0;

  now(): number {
    return 1_700_000_000_000 + Math.floor(this.mono);
  }

  monotonic(): number {
    return this.mono;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.sleeps++;
    this.mono += ms;
  }
}

export class Machine {
  readonly disk: SimDisk;
  readonly clock = new ManualClock();
  gate = new ProcessGate();
  db: Database | null = null;
  incarnation = 0;
  /** I/O operations completed so far (all incarnations). */
  ioCount = 0;
  /** When set, the process loses power as this many more I/O operations complete. */
  private crashCountdown: number | null = null;
  /** Called at every named point of a live process; a returned promise pauses the engine there. */
  pointHook: ((name: string) => Promise<void> | undefined) | null = null;

  constructor(private readonly seed: number) {
    this.disk = new SimDisk('d0', new SeededSimRandom(seed));
  }

  private env(): Env {
    const gate = this.gate;
    const random = new SeededRandom((this.seed * 7919 + this.incarnation * 104_729) >>> 0);
    const sched: IoScheduler = {
      complete: async () => {
        this.ioCount++;
        if (this.crashCountdown !== null && gate.alive() && --this.crashCountdown <= 0) this.powerLoss();
      },
    };
    return {
      fs: this.disk.view(gate, sched),
      clock: this.clock,
      random,
      coordinator: new MemoryCoordinator(this.clock, random),
      point: (name) => (gate.alive() ? this.pointHook?.(name) : gate.hang()),
    };
  }

  /** Opens the folder (recovery included). Null if the process lost power meanwhile. */
  async open(crashAfterIo: number | null = null): Promise<Database | null> {
    this.crashCountdown = crashAfterIo;
    const gate = this.gate;
    try {
      const opening = Database.open({
        journal: false,
        folder: FOLDER,
        env: this.env(),
        registryHashMod: 4,
        nodeCacheSize: 64,
        maintenance: { sweepIntervalMs: 1e15, busySweepIntervalMs: 1e15 },
      });
      const db = await Promise.race([opening, gate.killed.then(() => null)]);
      if (!gate.alive()) return null;
      this.db = db;
      return db;
    } finally {
      this.crashCountdown = null;
    }
  }

  /** Power loss: the incarnation dies (its pending work never completes), the disk decides what unsynced writes became. */
  powerLoss(): void {
    this.gate.kill();
    this.disk.crash();
    this.gate = new ProcessGate();
    this.db = null;
    this.incarnation++;
  }
}
