/** Fixtures for the erasure-coding suites: drive folders in os.tmpdir, seeded random blobs, bit flips. */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { realEnv } from '../../src/adapters/real-env.js';
import { BlockKind, encodeFrame } from '../../src/codec/frame.js';
import { validateErasureCoding } from '../../src/ec/config.js';
import { ErasureBlobStore } from '../../src/ec/erasure-blob-store.js';
import { RsCodec } from '../../src/ec/rs-codec.js';
import { SopError, type SopErrorCode } from '../../src/errors/sop-error.js';
import type { Env } from '../../src/ports/env.js';

export class TempDirs {
  private readonly dirs: string[] = [];

  make(prefix = 'sop-ec-'): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `count` drive folders (created) under a fresh temp folder. */
export function makeDrives(dirs: TempDirs, count: number): string[] {
  const root = dirs.make();
  return Array.from({ length: count }, (_, i) => {
    const drive = path.join(root, `d${i}`);
    fs.mkdirSync(drive);
    return drive;
  });
}

/** An ErasureBlobStore for store `name` over fresh drives, created. */
export async function makeStore(
  dirs: TempDirs,
  dataShards: number,
  parityShards: number,
  options: { env?: Env; drives?: string[]; name?: string } = {},
): Promise<{ store: ErasureBlobStore; drives: string[] }> {
  const drives = options.drives ?? makeDrives(dirs, dataShards + parityShards);
  const config = validateErasureCoding({ dataShards, parityShards, drives });
  const store = new ErasureBlobStore(options.env ?? realEnv(), config, options.name ?? 'users', dirs.make('sop-ec-store-'), new RsCodec(dataShards, parityShards));
  await store.create();
  return { store, drives };
}

/** A deterministic PRNG (xorshift32): failures replay exactly. */
export function prng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

export function randomBytes(rand: (n: number) => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = rand(256);
  return out;
}

/** Blobs of awkward sizes: empty, one byte, odd sizes around the 8-byte shard granularity, 1 MiB. */
export function sampleBlobs(seed: number, count = 24, options: { framed?: boolean } = {}): { id: string; bytes: Uint8Array }[] {
  const rand = prng(seed);
  const sizes = [0, 1, 7, 8, 9, 15, 17, 63, 255, 1000, 4097, 65_537, 1 << 20];
  return Array.from({ length: count }, (_, i) => {
    const bytes = randomBytes(rand, i < sizes.length ? sizes[i]! : rand(50_000));
    return {
      id: `${i.toString(16).padStart(2, '0')}${randomHex(rand, 6)}-${randomHex(rand, 4)}-4${randomHex(rand, 3)}-8${randomHex(rand, 3)}-${randomHex(rand, 12)}`,
      // The engine's blobs are frames (FMT-1); scrub() checks the decoded frame too.
      bytes: options.framed ? encodeFrame(BlockKind.Value, bytes) : bytes,
    };
  });
}

function randomHex(rand: (n: number) => number, n: number): string {
  return Array.from({ length: n }, () => rand(16).toString(16)).join('');
}

/** Flips one bit of a file at `offset` (negative: from the end). */
export function flipByte(file: string, offset: number): void {
  const bytes = fs.readFileSync(file);
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at] = bytes[at]! ^ 0x10;
  fs.writeFileSync(file, bytes);
}

export async function expectSopError(action: Promise<unknown>, ...codes: SopErrorCode[]): Promise<SopError> {
  try {
    await action;
  } catch (error) {
    assert.ok(error instanceof SopError, `expected a SopError, got ${String(error)}`);
    assert.ok(codes.includes(error.code), `expected ${codes.join('|')}, got ${error.code}: ${error.message}`);
    return error;
  }
  assert.fail(`expected SopError ${codes.join('|')}, the call succeeded`);
}

/** Every shard file of a blob is present and decodes as a valid shard (the EC-3 postcondition). */
export async function assertAllShardsValid(store: ErasureBlobStore, id: string): Promise<void> {
  const reads = await store.readAll(id);
  const states = store.codec.check(id, reads.map((r) => r.file));
  states.forEach((s, d) => assert.ok(s.shard, `blob ${id} shard ${d}: ${s.problem}`));
}

export function equalBytes(actual: Uint8Array | null, expected: Uint8Array, what: string): void {
  assert.ok(actual, `${what}: null`);
  assert.equal(actual.length, expected.length, `${what}: length`);
  assert.ok(Buffer.compare(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength), Buffer.from(expected)) === 0, `${what}: bytes differ`);
}
