import type { EventLoop } from './event-loop.js';
import type { FaultKind, Scenario } from './options.js';
import type { SeededSimRandom } from './random.js';
import type { SimNode } from './sim-node.js';
import type { SimRedis } from './sim-redis.js';

/**
 * Injects the scenario's faults during the fault phase, each as a short window or an instant,
 * always within what sop-ts claims to survive on one disk (no data loss beyond unsynced writes).
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
  ) {}

  /** The node a per-node fault hits (the only one in standalone runs: no draw, same streams as before). */
  private get node(): SimNode {
    return this.nodes.length === 1 ? this.nodes[0]! : this.random.pick(this.nodes, 'nemesis.node');
  }

  async run(): Promise<void> {
    const kinds = [...this.scenario.enabled].filter((k) => !k.startsWith('crash') && (this.redis || !k.startsWith('redis')));
    while (this.active && kinds.length > 0) {
      await this.loop.sleep(2 + this.random.float('nemesis.gap') * 40, 'nemesis');
      if (!this.active) return;
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
    }
    if (this.redis) {
      this.redis.faults = {};
      this.redis.cutOff.clear();
    }
  }

  count(kind: string): void {
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
  }

  private inject(kind: FaultKind): void {
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

  private window(ms: number, on: () => unknown, off: () => unknown): void {
    on();
    this.loop.schedule(ms, 'nemesis.heal', () => void (this.active && off()));
  }
}
