import { createHash } from 'node:crypto';
import type { SeededSimRandom } from './random.js';
import { nativeBusy, nativeSettled } from './sim-native.js';

interface Event {
  readonly at: number;
  readonly tie: number;
  readonly label: string;
  readonly fire: () => void;
}

/**
 * The simulator's single source of progress: a priority queue of (virtual time, PRNG tie-break)
 * events. Popping one event resolves one pending operation; the loop then lets every
 * microtask it triggered run before popping the next, so the engine's async code runs in an
 * order fixed by the seed. Virtual time jumps to the next event: a simulated hour costs nothing.
 */
/** Labels of events that keep a process alive without doing its work: a heartbeat's sleep and its Redis call. */
const BACKGROUND = new Set(['heartbeat', 'redis.extend']);
const BACKGROUND_ONLY_LIMIT = 20_000;

export class EventLoop {
  private heap: Event[] = [];
  private nowValue = 0;
  private readonly hash = createHash('sha256');
  events = 0;
  /** Events kept in the ring (background ones are not). */
  private recorded = 0;
  /** The last events, for the readable trace of a failing run. */
  private readonly ring: string[];

  constructor(private readonly random: SeededSimRandom, traceEvents = 200) {
    this.ring = new Array<string>(Math.max(1, traceEvents)).fill('');
  }

  get now(): number {
    return this.nowValue;
  }

  /** Resolves after `delayMs` of virtual time. */
  sleep(delayMs: number, label: string): Promise<void> {
    return new Promise((resolve) => this.schedule(delayMs, label, resolve));
  }

  schedule(delayMs: number, label: string, fire: () => void): void {
    this.push({ at: this.nowValue + Math.max(0, delayMs), tie: this.random.float('tie'), label, fire });
  }

  /**
   * Runs events until `done()` or the queue is empty; returns false if it stopped at `maxEvents`.
   * Background events (heartbeats and what they send: BACKGROUND) do not count as progress:
   * when nothing else ran for BACKGROUND_ONLY_LIMIT events the run has stalled, and stops as
   * if its queue were empty (a deadlock), instead of beating until `maxEvents`.
   */
  async run(done: () => boolean, maxEvents: number): Promise<boolean> {
    let lastProgress = this.events;
    while (!done() && this.heap.length > 0) {
      if (this.events >= maxEvents) return false;
      if (this.events - lastProgress > BACKGROUND_ONLY_LIMIT) return true;
      const event = this.pop();
      this.nowValue = event.at;
      this.events++;
      const line = `${event.at.toFixed(6)} ${event.label}`;
      this.hash.update(`${line}\n`);
      if (!BACKGROUND.has(event.label)) {
        lastProgress = this.events;
        this.ring[this.recorded++ % this.ring.length] = line; // the readable trace leaves heartbeats out
      }
      event.fire();
      await drain();
    }
    return true;
  }

  /** Folds extra state (disk digests, results) into the trace hash. */
  note(text: string): void {
    this.hash.update(`note ${text}\n`);
  }

  /** The most recent events, oldest first. */
  recent(): string[] {
    const n = this.ring.length;
    const start = this.recorded % n;
    return [...this.ring.slice(start), ...this.ring.slice(0, start)].filter((l) => l !== '');
  }

  traceHash(): string {
    return this.hash.copy().digest('hex').slice(0, 16);
  }

  get pending(): number {
    return this.heap.length;
  }

  private push(event: Event): void {
    const heap = this.heap;
    heap.push(event);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Event {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.tie < b.tie);
}

/**
 * One macrotask turn: every microtask queued so far (and those they queue) runs first; then, if
 * that started Reed-Solomon work in the thread pool (erasure coding), its callbacks and what
 * they trigger, in call order (sim-native.ts).
 */
async function drain(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  while (nativeBusy()) {
    await nativeSettled();
    await new Promise((resolve) => setImmediate(resolve));
  }
}
