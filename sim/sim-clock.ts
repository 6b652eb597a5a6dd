import type { Clock } from '../src/ports/clock.js';
import type { EventLoop } from './event-loop.js';
import type { Gate } from './types.js';

/**
 * A node's clock. Monotonic time is the loop's virtual time; wall time adds an offset that
 * the nemesis moves forward and backward (clock jumps, rewinds, skew between nodes).
 */
export class SimClock implements Clock {
  offsetMs: number;

  constructor(
    private readonly loop: EventLoop,
    private readonly gate: Gate,
    epochMs: number,
  ) {
    this.offsetMs = epochMs;
  }

  now(): number {
    return Math.floor(this.loop.now + this.offsetMs);
  }

  monotonic(): number {
    return this.loop.now;
  }

  async sleep(ms: number, signal?: AbortSignal, background = false): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    await this.loop.sleep(ms, background ? 'heartbeat' : 'sleep');
    if (!this.gate.alive()) return this.gate.hang();
  }
}
