import { MemoryCoordinator } from '../src/adapters/memory-coordinator.js';
import { SeededRandom } from '../src/adapters/seeded-random.js';
import { Database } from '../src/database/database.js';
import type { Env } from '../src/ports/env.js';
import type { FileSystem } from '../src/ports/file-system.js';
import type { CrashPoint } from '../src/ports/points.js';
import type { EventLoop } from './event-loop.js';
import { ProcessGate } from './gate.js';
import type { SeededSimRandom } from './random.js';
import type { SimDisk } from './sim-disk.js';
import { SimClock } from './sim-clock.js';
import type { SimRedis } from './sim-redis.js';
import type { IoScheduler } from './types.js';

export const FOLDER = '/db';

export interface CrashPlan {
  /** Probability of a crash each time a named crash point is reached. */
  atPoint: number;
  /** Probability of a crash at the completion of any disk operation. */
  atIo: number;
  /** Probability that a disk operation is slow (a latency spike). */
  slowIo: number;
  /** One point crashed at often, so every point is hit across a batch of seeds. */
  focus?: CrashPoint;
  focusProbability?: number;
}

/**
 * One simulated machine running one sop-ts process on one disk. A crash is a power loss: the
 * process incarnation dies (its pending work never completes) and the disk decides what its
 * unsynced writes became; `start` then opens the folder again, which runs recovery.
 */
export class SimNode {
  gate = new ProcessGate();
  db: Database | null = null;
  clock: SimClock;
  crashes = 0;
  /** Every start is a new incarnation with its own engine random stream (real entropy never repeats). */
  private incarnations = 0;
  faultsActive = false;
  /** Dies (this process only, no power loss) at the next crash point it reaches (spec CLU-6). */
  killAtNextPoint: CrashPoint | 'any' | null = null;
  plan: CrashPlan = { atPoint: 0, atIo: 0, slowIo: 0 };
  readonly pointHits = new Map<string, number>();
  readonly crashPoints = new Map<string, number>();
  private readonly engineSeed: number;
  /**
   * The nodes that share this node's disk (itself included). A crash is a power loss of the
   * shared storage and its hosts: every node of the group dies with it.
   */
  group: SimNode[] = [this];

  constructor(
    readonly name: string,
    private readonly loop: EventLoop,
    private readonly random: SeededSimRandom,
    readonly disk: SimDisk,
    private readonly redis: SimRedis | null,
    private readonly openOptions: {
      registryHashMod: number;
      nodeCacheSize: number;
      wrapFs?: (fs: FileSystem) => FileSystem;
      clustered?: boolean;
      erasureCoding?: { dataShards: number; parityShards: number; drives: string[] };
      /** Active/passive replication of FOLDER onto this folder (spec REPL-1..REPL-5). */
      replica?: string;
      /** Journal mode with this checkpoint threshold (spec JNL-1..JNL-4). */
      journal?: { maxRecords: number; blockingSync?: boolean } | false;
    },
  ) {
    this.clock = new SimClock(loop, this.gate, 1_700_000_000_000);
    this.engineSeed = random.int(0x7fffffff, 'engineSeed');
  }

  /** Opens the database (recovery included); a crash during open is retried by the caller. */
  async start(): Promise<Database> {
    const gate = this.gate;
    const db = await Database.open({
      folder: FOLDER,
      env: this.env(gate),
      registryHashMod: this.openOptions.registryHashMod,
      nodeCacheSize: this.openOptions.nodeCacheSize,
      maintenance: { sweepIntervalMs: 2_000, busySweepIntervalMs: 500 },
      ...(this.openOptions.clustered ? { mode: 'clustered' as const, clusterGraceMs: 10_000 } : {}),
      ...(this.openOptions.erasureCoding ? { erasureCoding: this.openOptions.erasureCoding } : {}),
      ...(this.openOptions.replica ? { replication: { passive: this.openOptions.replica } } : {}),
      journal: this.openOptions.journal ?? false, // in place unless the seed drew journal mode, whatever the engine default
    });
    if (!gate.alive()) return gate.hang();
    this.db = db;
    return db;
  }

  crash(reason: string): void {
    if (!this.gate.alive()) return;
    this.crashes++;
    this.crashPoints.set(reason, (this.crashPoints.get(reason) ?? 0) + 1);
    for (const node of this.group) node.die();
    this.disk.crash();
  }

  /** This node's process is gone (its pending work never completes); a new incarnation may start. */
  private die(): void {
    if (!this.gate.alive()) return;
    this.gate.kill();
    this.db = null;
    const offset = this.clock.offsetMs;
    this.gate = new ProcessGate();
    this.clock = new SimClock(this.loop, this.gate, offset);
  }

  /**
   * This process alone is SIGKILLed (no power loss, the others run on); it starts again at its
   * next client step. Counted as `reason`.
   */
  killProcess(reason: string): void {
    if (!this.gate.alive()) return;
    this.crashPoints.set(reason, (this.crashPoints.get(reason) ?? 0) + 1);
    this.gate.kill();
    this.db = null;
    this.gate = new ProcessGate();
    this.clock = new SimClock(this.loop, this.gate, this.clock.offsetMs);
  }

  /** A process restart without power loss (kill -9 and start): the disk keeps everything. */
  restartProcess(): void {
    if (!this.gate.alive()) return;
    this.crashPoints.set('restart', (this.crashPoints.get('restart') ?? 0) + 1);
    this.gate.kill();
    this.db = null;
    this.gate = new ProcessGate();
    this.clock = new SimClock(this.loop, this.gate, this.clock.offsetMs);
  }

  /** A FileSystem of the current incarnation (scheduled like the engine's, without its wrapFs): for checkers. */
  fileSystem(): FileSystem {
    const gate = this.gate;
    return this.disk.view(gate, { complete: (label) => this.completeIo(gate, label) });
  }

  private env(gate: ProcessGate): Env {
    const clock = new SimClock(this.loop, gate, this.clock.offsetMs);
    this.clock = clock;
    const random = new SeededRandom([this.engineSeed, ++this.incarnations, 0x5eed, 0x50b]);
    const sched: IoScheduler = { complete: (label) => this.completeIo(gate, label) };
    return {
      fs: (this.openOptions.wrapFs ?? ((fs: FileSystem) => fs))(this.disk.view(gate, sched)),
      clock,
      random,
      coordinator: this.redis ? this.redis.view(this.name, gate) : new MemoryCoordinator(clock, random),
      point: (name) => this.point(gate, name),
    };
  }

  private async completeIo(gate: ProcessGate, label: string): Promise<void> {
    const slow = this.faultsActive && this.random.chance(this.plan.slowIo, 'io.slow');
    await this.loop.sleep(slow ? 5 + this.random.float('io.slowMs') * 200 : 0.01 + this.random.float('io.latency') * 0.2, label);
    if (gate.alive() && this.faultsActive && this.random.chance(this.plan.atIo, 'crash.io')) this.crash(`io:${label.split(' ')[0]}`);
  }

  private point(gate: ProcessGate, name: CrashPoint): Promise<void> | undefined {
    this.pointHits.set(name, (this.pointHits.get(name) ?? 0) + 1);
    if (!gate.alive()) return gate.hang();
    if (this.killAtNextPoint === name || this.killAtNextPoint === 'any') {
      this.killAtNextPoint = null;
      this.killProcess('process-killed-mid-commit');
      return gate.hang();
    }
    const p = name === this.plan.focus ? (this.plan.focusProbability ?? 0) : this.plan.atPoint;
    if (this.faultsActive && this.random.chance(p, `crash.point.${name}`)) {
      this.crash(`point:${name}`);
      return gate.hang();
    }
    return undefined;
  }
}
