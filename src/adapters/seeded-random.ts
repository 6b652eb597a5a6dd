import { randomBytes } from 'node:crypto';
import type { Random } from '../ports/random.js';
import { formatUuid } from '../util/uuid.js';

/**
 * sfc32 PRNG. Deterministic for a given seed (the simulator passes its seed); the real
 * adapter seeds it from the OS entropy pool once, via `SeededRandom.fromEntropy()`.
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | readonly [number, number, number, number]) {
    const s = typeof seed === 'number' ? [0x9e3779b9, 0x243f6a88, 0xb7e15162, seed >>> 0] : seed;
    [this.a, this.b, this.c, this.d] = s.map((x) => x >>> 0) as [number, number, number, number];
    for (let i = 0; i < 15; i++) this.nextU32();
  }

  static fromEntropy(): SeededRandom {
    const bytes = randomBytes(16);
    return new SeededRandom([bytes.readUInt32LE(0), bytes.readUInt32LE(4), bytes.readUInt32LE(8), bytes.readUInt32LE(12)]);
  }

  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  nextFloat(): number {
    return this.nextU32() / 0x100000000;
  }

  uuid(): string {
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 16; i += 4) {
      const x = this.nextU32();
      bytes[i] = x & 0xff;
      bytes[i + 1] = (x >>> 8) & 0xff;
      bytes[i + 2] = (x >>> 16) & 0xff;
      bytes[i + 3] = x >>> 24;
    }
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    return formatUuid(bytes);
  }
}
