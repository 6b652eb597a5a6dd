import type { Coordinator } from '../src/ports/coordinator.js';
import type { EventLoop } from './event-loop.js';
import type { SeededSimRandom } from './random.js';
import type { Gate } from './types.js';

export interface RedisFaults {
  /** Probability that a command applies but its reply is lost (the client sees an error). */
  replyLost?: number;
  /** Probability of a latency spike on a command. */
  latencySpike?: number;
}

interface Entry {
  value: Uint8Array | string;
  expiresAt: number;
}

/**
 * A simulated Redis: one server state shared by every node, with the faults Redis really has —
 * restart with total loss and a new run id, replies lost after the command applied, latency
 * spikes, and a node cut off from it. TTLs run on the server's (virtual) clock.
 */
export class SimRedis {
  private data = new Map<string, Entry>();
  private runIdValue: string;
  private restarts = 0;
  faults: RedisFaults = {};
  readonly cutOff = new Set<string>();
  readonly stats = { commands: 0, restarts: 0, repliesLost: 0, spikes: 0, refused: 0 };

  constructor(
    private readonly loop: EventLoop,
    private readonly random: SeededSimRandom,
  ) {
    this.runIdValue = this.newRunId();
  }

  /** Restart with total loss: every key is gone and the run id changes. */
  restart(): void {
    this.data.clear();
    this.restarts++;
    this.stats.restarts++;
    this.runIdValue = this.newRunId();
  }

  /** The Coordinator of one node incarnation. */
  view(node: string, gate: Gate): Coordinator {
    const call = <T>(name: string, apply: () => T): Promise<T> => this.command(node, gate, name, apply);
    return {
      kind: 'simulated',
      runId: () => call('runId', () => this.runIdValue),
      cacheGet: (key) => call('get', () => (this.live(key)?.value as Uint8Array | undefined) ?? null),
      cacheSet: (key, value, ttl) => call('set', () => void (ttl > 0 && this.data.set(key, { value, expiresAt: this.loop.now + ttl }))),
      cacheDelete: (keys) => call('del', () => keys.forEach((k) => this.data.delete(k))),
      lock: (key, owner, ttl) => call('lock', () => this.lock(key, owner, ttl)),
      unlock: (key, owner) => call('unlock', () => this.ifOwner(key, owner, () => this.data.delete(key))),
      extend: (key, owner, ttl) => call('extend', () => this.ifOwner(key, owner, (e) => (e.expiresAt = this.loop.now + ttl))),
      owner: (key) => call('owner', () => (this.live(key)?.value as string | undefined) ?? null),
      close: async () => undefined,
    };
  }

  private async command<T>(node: string, gate: Gate, name: string, apply: () => T): Promise<T> {
    const spike = this.random.chance(this.faults.latencySpike ?? 0, 'redis.spike');
    if (spike) this.stats.spikes++;
    await this.loop.sleep(spike ? 50 + this.random.float('redis.spikeMs') * 500 : 0.05 + this.random.float('redis.latency') * 0.3, `redis.${name}`);
    if (!gate.alive()) return gate.hang();
    this.stats.commands++;
    if (this.cutOff.has(node)) {
      this.stats.refused++;
      throw Object.assign(new Error(`redis unreachable from ${node}`), { code: 'ECONNREFUSED' });
    }
    const result = apply();
    if (this.random.chance(this.faults.replyLost ?? 0, 'redis.replyLost')) {
      this.stats.repliesLost++;
      throw Object.assign(new Error(`redis reply lost (${name})`), { code: 'ETIMEDOUT' });
    }
    return result;
  }

  private lock(key: string, owner: string, ttl: number): string | null {
    const current = this.live(key);
    if (current && current.value !== owner) return current.value as string;
    this.data.set(key, { value: owner, expiresAt: this.loop.now + ttl });
    return null;
  }

  private ifOwner(key: string, owner: string, action: (e: Entry) => unknown): boolean {
    const entry = this.live(key);
    if (!entry || entry.value !== owner) return false;
    action(entry);
    return true;
  }

  private live(key: string): Entry | undefined {
    const entry = this.data.get(key);
    if (entry && entry.expiresAt <= this.loop.now) {
      this.data.delete(key);
      return undefined;
    }
    return entry;
  }

  private newRunId(): string {
    return `run-${this.restarts}-${this.random.int(1e9, 'redis.runId')}`;
  }
}
