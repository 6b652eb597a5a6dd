/**
 * The stream store under faults (spec STREAM-1, STREAM-3, STREAM-4): streamed writes of values
 * spanning several chunks (a crash can cut them anywhere), partial updates, removes, write
 * streams destroyed half-way, and byte-range reads, on a few values of one store. Operations on
 * one value never overlap, so the checker knows the set of contents each may hold (possible.ts).
 * Checker: every committed read, and the final state, is one of them, whole (every acknowledged
 * byte reads back, no torn value); `verify()` finds every chunk owned by its value and none
 * missing or left over after recovery (no orphan chunk; orphan blobs are the structure checker's).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database } from '../../src/database/database.js';
import type { StreamStore } from '../../src/layers/stream/index.js';
import type { Transaction } from '../../src/txn/transaction.js';
import type { SeededSimRandom } from '../random.js';
import type { Guard, LayerRun, LayerWorkload } from './index.js';
import { Possible } from './possible.js';

const STORE = 'media';
const NAMES = ['v0', 'v1', 'v2'];
const CHUNK_SIZES = [3, 16, 64];

type Content = Uint8Array | null;

export const streamWorkload: LayerWorkload = {
  name: 'stream',
  invariants: ['STREAM-1', 'STREAM-3', 'STREAM-4'],
  weight: 0.15,
  start: (random) => new StreamRun(random),
};

class StreamRun implements LayerRun {
  private readonly chunkSize: number;
  private readonly values = new Map(NAMES.map((n) => [n, new Possible<Content>(null, sameContent)]));
  private readonly busy = new Set<string>();
  private readonly problems: string[] = [];
  private nextSeed = 1;

  constructor(private readonly random: SeededSimRandom) {
    this.chunkSize = random.pick(CHUNK_SIZES, 'stream.chunkSize');
  }

  async setup(db: Database): Promise<void> {
    await db.transaction('write', async (tx) => void (await db.newStreamStore(tx, STORE, { chunkSize: this.chunkSize })), { retries: 100 });
  }

  async step(db: Database, guard: Guard): Promise<void> {
    const r = this.random;
    const name = r.pick(NAMES, 'stream.name');
    if (this.busy.has(name)) return; // one operation per value at a time: the checker's model stays exact
    this.busy.add(name);
    try {
      const value = this.values.get(name)!;
      const kind = r.float('stream.op');
      if (kind < 0.3) await this.streamWrite(db, guard, name, value);
      else if (kind < 0.55) await this.partial(db, guard, name, value);
      else if (kind < 0.63) await this.remove(db, guard, name, value);
      else if (kind < 0.68) await this.destroyed(db, guard, name);
      else await this.read(db, guard, name, value);
    } finally {
      this.busy.delete(name);
    }
  }

  /** Replaces the value through a write stream, in pieces of random sizes. */
  private async streamWrite(db: Database, guard: Guard, name: string, value: Possible<Content>): Promise<void> {
    const bytes = content(this.random.int(6 * this.chunkSize + 5, 'stream.size'), this.nextSeed++);
    const pieces = this.pieces(bytes);
    const outcome = await guard('write', async (tx) => pipeline(Readable.from(pieces), (await open(db, tx)).createWriteStream(name)));
    value.apply(outcome, () => bytes);
  }

  /** A partial update at an offset every possible content allows (offset == size appends). */
  private async partial(db: Database, guard: Guard, name: string, value: Possible<Content>): Promise<void> {
    const sizes = (value.all ?? [null]).map((v) => v?.length ?? 0);
    const offset = this.random.int(Math.min(...sizes) + 1, 'stream.offset');
    const bytes = content(1 + this.random.int(2 * this.chunkSize, 'stream.len'), this.nextSeed++);
    const outcome = await guard('write', async (tx) => (await open(db, tx)).write(name, offset, bytes));
    value.apply(outcome, (v) => {
      const next = new Uint8Array(Math.max(v?.length ?? 0, offset + bytes.length));
      if (v) next.set(v);
      next.set(bytes, offset);
      return next;
    });
  }

  private async remove(db: Database, guard: Guard, name: string, value: Possible<Content>): Promise<void> {
    const outcome = await guard('write', async (tx) => void (await (await open(db, tx)).remove(name)));
    value.apply(outcome, () => null);
  }

  /** A write stream destroyed after some pieces, in a transaction that commits: the value stays as it was. */
  private async destroyed(db: Database, guard: Guard, name: string): Promise<void> {
    const bytes = content(2 * this.chunkSize + 1, this.nextSeed++);
    await guard('write', async (tx) => {
      const ws = (await open(db, tx)).createWriteStream(name);
      let failed: Error | null = null;
      ws.on('error', (e) => (failed = e)); // a fault while the stream starts or writes: the step fails
      await new Promise<void>((resolve, reject) => ws.write(bytes, (e) => (e ? reject(e) : resolve())));
      const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
      ws.destroy();
      await closed;
      if (failed) throw failed;
    });
  }

  /** A whole read, or a range read; once its transaction committed, what it saw must be one of the possible contents. */
  private async read(db: Database, guard: Guard, name: string, value: Possible<Content>): Promise<void> {
    const [from, to] = [this.random.float('stream.from'), this.random.float('stream.to')];
    const all = this.random.chance(0.4, 'stream.whole');
    let seen: { size: number | null; start: number; bytes: Uint8Array } = { size: null, start: 0, bytes: new Uint8Array(0) };
    const outcome = await guard('read', async (tx) => {
      const media = await open(db, tx);
      const stat = await media.stat(name);
      if (!stat) return void (seen = { size: null, start: 0, bytes: new Uint8Array(0) });
      const a = Math.floor(from * stat.size);
      const b = all ? stat.size - 1 : Math.min(stat.size - 1, a + Math.floor(to * 3 * this.chunkSize));
      const start = all ? 0 : a;
      const bytes = b < start ? new Uint8Array(0) : await readAll(media.createReadStream(name, { start, end: b }));
      seen = { size: stat.size, start, bytes };
    });
    if (outcome !== 'ok') return;
    const matches = (v: Content): boolean => (v === null ? seen.size === null : v.length === seen.size && sameBytes(v.subarray(seen.start, seen.start + seen.bytes.length), seen.bytes));
    const whole = seen.size === null ? { value: null } : seen.start === 0 && seen.bytes.length === seen.size ? { value: seen.bytes } : undefined;
    if (!value.observe(matches, whole) && value.all !== null) this.problems.push(`${name}: a committed read saw ${describe(seen)}, none of the ${value.all.length} possible contents`);
  }

  async check(db: Database): Promise<string[]> {
    let problems: string[] = [];
    await db.transaction('read', async (tx) => {
      problems = [...this.problems]; // a retried read starts over
      const media = await db.openStreamStore(tx, STORE);
      for (const [name, value] of this.values) {
        const stat = await media.stat(name);
        const got: Content = stat ? await readAll(media.createReadStream(name)) : null;
        const all = value.all;
        if (all && !all.some((v) => sameContent(v, got))) problems.push(`${name}: final value ${got ? `${got.length} bytes` : 'absent'} is none of the ${all.length} possible contents (sizes ${all.map((v) => v?.length ?? 'absent').join(', ')})`);
      }
      const report = await media.verify();
      problems.push(...report.problems.map((p) => `verify: ${p}`));
      if (report.abandoned > 0) problems.push(`verify: ${report.abandoned} chunks of abandoned streams after recovery`);
    }, { retries: 100 });
    return problems;
  }

  private pieces(bytes: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + this.random.int(2 * this.chunkSize, 'stream.piece');
      out.push(bytes.subarray(at, at + n));
      at += n;
    }
    return out;
  }
}

async function open(db: Database, tx: Transaction): Promise<StreamStore> {
  return db.openStreamStore(tx, STORE);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return new Uint8Array(Buffer.concat(parts));
}

/** The bytes of write `seed`: each byte tells the write and its offset apart. */
function content(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (seed * 31 + i * 7 + (i >> 8)) & 0xff;
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameContent(a: Content, b: Content): boolean {
  return a === null || b === null ? a === b : sameBytes(a, b);
}

function describe(seen: { size: number | null; start: number; bytes: Uint8Array }): string {
  return seen.size === null ? 'no value' : `${seen.bytes.length} bytes at ${seen.start} of ${seen.size}`;
}
