import type { SimRandom } from './types.js';

/**
 * The simulator's PRNG (sfc32). Every draw carries a label; `labels` keeps a rolling digest
 * of them so two runs of one seed that draw differently are told apart (spec: determinism).
 */
export class SeededSimRandom implements SimRandom {
  private s: [number, number, number, number];
  private digestValue = 0x811c9dc5;

  constructor(seed: number) {
    this.s = [0x9e3779b9, 0x243f6a88 ^ (seed >>> 0), 0xb7e15162, (seed * 2654435761) >>> 0];
    for (let i = 0; i < 20; i++) this.next();
  }

  /** A child generator: independent stream, still fully determined by this one. */
  fork(label: string): SeededSimRandom {
    return new SeededSimRandom(this.int(0x7fffffff, `fork:${label}`));
  }

  float(label: string): number {
    this.mix(label);
    return this.next() / 0x100000000;
  }

  int(n: number, label: string): number {
    return Math.floor(this.float(label) * n);
  }

  chance(p: number, label: string): boolean {
    return p > 0 && this.float(label) < p;
  }

  pick<T>(items: readonly T[], label: string): T {
    return items[this.int(items.length, label)]!;
  }

  get digest(): number {
    return this.digestValue >>> 0;
  }

  private mix(label: string): void {
    let h = this.digestValue;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    this.digestValue = h >>> 0;
  }

  private next(): number {
    const [a, b, c, d] = this.s;
    const t = (((a + b) >>> 0) + d) >>> 0;
    this.s = [b ^ (b >>> 9), (c + (c << 3)) >>> 0, (((c << 21) | (c >>> 11)) + t) >>> 0, (d + 1) >>> 0];
    return t;
  }
}
