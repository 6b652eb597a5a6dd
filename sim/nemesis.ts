import type { EcDrives } from './ec-drives.js';
import type { EventLoop } from './event-loop.js';
import type { FaultKind, Scenario } from './options.js';
import type { SeededSimRandom } from './random.js';
import type { SimNode } from './sim-node.js';
import type { SimRedis } from './sim-redis.js';
import type { ReplDrives } from './repl-drives.js';

/**
 * The fault phase ends after this much virtual time even when the clients still have steps to
 * run; they finish them in a healed world. A storm with no end can starve every client forever
 * (clustered seeds 63 and 1728281392: Redis restarting every few hundred ms keeps dead-process
 * detection from ever trusting a missing key (CLU-6), and a process killed every second never
 * lives the 10 s a claim needs to go stale), and then the run proves nothing. Bounding the storm,
 * as Jepsen bounds its nemesis, keeps what matters: after it, everything must recover (REC-5).
 */
export const FAULT_PHASE_LIMIT_MS = 300_000;

/**
 * Injects the scenario's faults during the fault phase, each as a short window or an instant,
 * always within what sop-ts claims to survive on one disk (no data loss beyond unsynced writes)
 * and, with erasure coding, within what D+P coding survives: a drive fault or a rotted shard is
 * injected only when EcDrives.survives() says no blob would drop below D shards (spec EC-1).
 */
export class Nemesis {
  readonly injected = new Map<string, number>();
  active = true;

  constructor(
    private readonly loop: EventLoop,
    private readonly random: SeededSimRandom,
    private readonly scenario: Scenario,
    private readonly nodes: readonly SimNode[],
    private readonly redis: SimRedis | null,
    private readonly ec: EcDrives | null = null,
    /** An operator's `db.repair()` (after a drive was replaced); resolves whatever the outcome. */
    private readonly operatorRepair: () => Promise<void> = async () => undefined,
    /** The two drives of a replicated run (spec REPL-1..REPL-5), or null. */
    private readonly repl: ReplDrives | null = null,
    /** An operator's `db.reinstate()` (after a replicated drive failed or was replaced); resolves whatever the outcome. */
    private readonly operatorReinstate: () => Promise<void> = async () => undefined,
  ) {}

  /** The node a per-node fault hits (the only one in standalone runs: no draw, same streams as before). */
  private get node(): SimNode {
    return this.nodes.length === 1 ? this.nodes[0]! : this.random.pick(this.nodes, 'nemesis.node');
  }

  async run(): Promise<void> {
    const kinds = [...this.scenario.enabled].filter((k) => !k.startsWith('crash') && (this.redis || !k.startsWith('redis')));
    const started = this.loop.now;
    while (this.active && kinds.length > 0) {
      await this.loop.sleep(2 + this.random.float('nemesis.gap') * 40, 'nemesis');
      if (!this.active) return;
      if (this.loop.now - started > FAULT_PHASE_LIMIT_MS) return this.heal();
      this.inject(this.random.pick(kinds, 'nemesis.kind'));
    }
  }

  /** Ends every fault: the healing phase starts from a well-behaved world. */
  heal(): void {
    this.active = false;
    this.nodes[0]!.disk.faults = {};
    for (const node of this.nodes) {
      node.faultsActive = false;
      node.plan.slowIo = 0;
      node.killAtNextPoint = null; // a kill armed in the fault phase that no commit reached
    }
    if (this.redis) {
      this.redis.faults = {};
      this.redis.cutOff.clear();
    }
  }

  /** Virtual time of the last process kill (process-kill is rate-limited). */
  private lastKill = -Infinity;

  count(kind: string): void {
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
  }

  private inject(kind: FaultKind): void {
    if (kind === 'ec-drive-loss') return this.driveLoss();
    if (kind === 'ec-shard-rot') return this.shardRot();
    if (kind === 'repl-drive-loss') return this.replDriveLoss();
    if (kind === 'repl-bit-rot') return this.replBitRot();
    if (kind === 'process-kill') return this.processKill();
    // Replicated runs: a rotted blob's only good copy is on the passive drive until a read heals it
    // (REPL-5); faults that can fail passive writes wait until then (two faults otherwise).
    if (this.repl && ['disk-offline', 'disk-eio-write', 'disk-eio-sync', 'disk-enospc'].includes(kind) && this.repl.hasUnhealedRot()) return this.count('repl-refused');
    this.count(kind);
    const disk = this.nodes[0]!.disk;
    const ms = 1 + this.random.float('nemesis.window') * 30;
    switch (kind) {
      case 'disk-offline': return this.window(ms, () => (disk.faults.offline = true), () => (disk.faults.offline = false));
      case 'disk-eio-write': return this.window(ms, () => (disk.faults.eioWrite = 0.05), () => (disk.faults.eioWrite = 0));
      case 'disk-eio-sync': return this.window(ms, () => (disk.faults.eioSync = 0.05), () => (disk.faults.eioSync = 0));
      case 'disk-enospc': return this.window(ms, () => (disk.faults.enospc = true), () => (disk.faults.enospc = false));
      case 'disk-slow': {
        const node = this.node;
        return this.window(ms, () => (node.plan.slowIo = 0.1), () => (node.plan.slowIo = 0));
      }
      case 'media-latent-read': return this.window(ms, () => (disk.faults.latentReadError = 0.05), () => (disk.faults.latentReadError = 0));
      case 'media-bit-rot': return this.window(ms, () => (disk.faults.bitRot = 0.05), () => (disk.faults.bitRot = 0));
      case 'redis-restart': return this.redis!.restart();
      case 'redis-reply-lost': return this.window(ms, () => (this.redis!.faults.replyLost = 0.05), () => (this.redis!.faults.replyLost = 0));
      case 'redis-latency': return this.window(ms, () => (this.redis!.faults.latencySpike = 0.05), () => (this.redis!.faults.latencySpike = 0));
      case 'redis-cutoff': {
        const name = this.node.name;
        return this.window(ms, () => this.redis!.cutOff.add(name), () => this.redis!.cutOff.delete(name));
      }
      case 'clock-jump': return void (this.node.clock.offsetMs += this.random.float('nemesis.jump') * 3_600_000);
      case 'clock-rewind': return void (this.node.clock.offsetMs -= this.random.float('nemesis.rewind') * 3_600_000);
      default: return;
    }
  }

  /**
   * One clustered process dies mid-commit (at the next commit step it reaches) or at once; the
   * others go on (CLU-6). At most one kill a second: each dead process restarts and recovers.
   */
  private processKill(): void {
    if (this.loop.now - this.lastKill < 1_000) return;
    this.lastKill = this.loop.now;
    this.count('process-kill');
    const node = this.random.pick(this.nodes, 'nemesis.kill.node');
    if (this.random.chance(0.7, 'nemesis.kill.midCommit')) node.killAtNextPoint = 'any';
    else node.killProcess('process-killed-at-once');
  }

  /**
   * One erasure-coded drive fails: offline for a while (every call under its folder fails with
   * EIO), or replaced by an empty one, after which an operator runs a repair. Refused (counted
   * as ec-refused) when it would take a blob below D shards.
   */
  private driveLoss(): void {
    const ec = this.ec!;
    const d = this.random.int(ec.devices.length, 'nemesis.ec.drive');
    const device = ec.devices[d]!;
    const wipe = this.random.chance(0.3, 'nemesis.ec.wipe');
    if (device.offline || !ec.survives(new Set([d]), { offline: !wipe })) return this.count('ec-refused');
    this.count('ec-drive-loss');
    if (!wipe) {
      const ms = 5 + this.random.float('nemesis.ec.window') * 100;
      return this.window(ms, () => (device.offline = true), () => (device.offline = false));
    }
    this.count('ec-drive-wipe');
    device.wipe();
    this.loop.schedule(20 + this.random.float('nemesis.ec.repairAfter') * 300, 'nemesis.ec.repair', () => void (this.active && this.operatorRepair()));
  }

  /** Bits of one stored shard file flip (rot at rest); refused when that blob has no shard to spare. */
  private shardRot(): void {
    const ec = this.ec!;
    const d = this.random.int(ec.devices.length, 'nemesis.ec.rotDrive');
    const files = ec.shardFiles(d);
    if (files.length === 0) return this.count('ec-refused');
    const [path, blob] = this.random.pick(files, 'nemesis.ec.rotFile');
    if (!ec.survives(new Set([d]), { only: blob })) return this.count('ec-refused');
    this.count('ec-shard-rot');
    ec.rot(d, path, 1 + this.random.int(3, 'nemesis.ec.rotBytes'));
  }

  /**
   * One replicated drive fails (spec REPL-2..REPL-4): it goes offline for a while (every call
   * under its folder fails with EIO), and is possibly replaced by an empty one. The passive drive
   * may be lost any time the active one holds no file only it could repair; it is wiped at once
   * or goes offline. The active drive may be lost only while the passive is truly in sync
   * (ReplDrives.canLoseActive): it goes offline, the engine fails over on its next call, and when
   * the window ends it is replaced by an empty drive if that was drawn and the failover happened.
   * Either way an operator reinstates it afterwards. Refused (counted as repl-refused) otherwise.
   */
  private replDriveLoss(): void {
    const repl = this.repl!;
    const drive = this.random.int(2, 'nemesis.repl.drive') as 0 | 1;
    const wipe = this.random.chance(0.4, 'nemesis.repl.wipe');
    const ms = 5 + this.random.float('nemesis.repl.window') * 100;
    const device = repl.devices[drive];
    const isActive = drive === repl.activeDrive();
    if (isActive ? !repl.canLoseActive() : !repl.canLosePassive()) return this.count('repl-refused');
    this.count('repl-drive-loss');
    const reinstateLater = (): void => {
      this.loop.schedule(20 + this.random.float('nemesis.repl.reinstateAfter') * 300, 'nemesis.repl.reinstate', () => void (this.active && this.operatorReinstate()));
    };
    if (!isActive) {
      repl.passiveLost();
      if (wipe) {
        this.count('repl-passive-wipe');
        device.wipe();
        return reinstateLater();
      }
      this.count('repl-passive-offline');
      return this.window(ms, () => (device.offline = true), () => ((device.offline = false), reinstateLater()));
    }
    this.count('repl-active-offline');
    return this.window(ms, () => (device.offline = true), () => {
      if (wipe && repl.activeDrive() !== drive) {
        this.count('repl-active-wipe');
        device.wipe();
      }
      device.offline = false;
      reinstateLater();
    });
  }

  /** Bits of one whole-file blob on the active drive flip while the passive copy is good (REPL-5 heals it). */
  private replBitRot(): void {
    const repl = this.repl!;
    const files = repl.rotCandidates();
    if (files.length === 0) return this.count('repl-refused');
    const path = this.random.pick(files, 'nemesis.repl.rotFile');
    this.count('repl-bit-rot');
    repl.rot(path, 1 + this.random.int(3, 'nemesis.repl.rotBytes'));
  }

  private window(ms: number, on: () => unknown, off: () => unknown): void {
    on();
    this.loop.schedule(ms, 'nemesis.heal', () => void (this.active && off()));
  }
}
