/**
 * Property test against a byte-array oracle (spec STREAM-1, STREAM-2, STREAM-3, STREAM-4): random sequences of
 * streamed writes, partial updates (valid offsets, and offsets past the end that must change
 * nothing), removes, byte-range reads, commits and rollbacks, over small chunk sizes so values
 * span many chunks. After each run: every value reads back as the oracle says, and the chunk
 * part holds exactly the chunks of the values, with no orphan blob.
 *
 * SOP_STREAM_RUNS overrides the number of runs (default 40).
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { Database, SopError, type Transaction } from '../../../src/index.js';
import type { StreamStore } from '../../../src/layers/stream/index.js';
import { TempDirs } from '../../api/helpers.js';
import { pattern, readAll, storeHealth, streamIn, verified } from './helpers.js';

const NAMES = ['a', 'b', 'c/d'];
const RUNS = Number(process.env.SOP_STREAM_RUNS ?? 40);

type Op =
  | { kind: 'stream'; name: number; size: number; seed: number; pieces: number[] }
  | { kind: 'write'; name: number; at: number; past: number; size: number; seed: number }
  | { kind: 'remove'; name: number }
  | { kind: 'read'; name: number; from: number; to: number; open: boolean }
  | { kind: 'commit' }
  | { kind: 'rollback' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('stream' as const), name: fc.nat(2), size: fc.nat(40), seed: fc.nat(), pieces: fc.array(fc.integer({ min: 1, max: 13 }), { minLength: 1, maxLength: 4 }) }),
  // `at` is a fraction of the size (a valid offset); `past` > 0 puts the offset past the end instead.
  fc.record({ kind: fc.constant('write' as const), name: fc.nat(2), at: fc.double({ min: 0, max: 1, noNaN: true }), past: fc.oneof(fc.constant(0), fc.constant(0), fc.nat(3)), size: fc.nat(20), seed: fc.nat() }),
  fc.record({ kind: fc.constant('remove' as const), name: fc.nat(2) }),
  fc.record({ kind: fc.constant('read' as const), name: fc.nat(2), from: fc.double({ min: 0, max: 1, noNaN: true }), to: fc.double({ min: 0, max: 1, noNaN: true }), open: fc.boolean() }),
  fc.constant({ kind: 'commit' as const }),
  fc.constant({ kind: 'rollback' as const }),
);

describe('layers/stream: property test against a byte-array oracle', () => {
  const dirs = new TempDirs();
  after(() => dirs.cleanup());

  it('streams, partial updates, ranges, commits and rollbacks match the oracle (STREAM-1, STREAM-2, STREAM-3, STREAM-4)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.array(op, { maxLength: 24 }), async (chunkSize, ops) => {
        const db = await Database.open({ folder: dirs.make('sop-stream-prop-') });
        try {
          await run(db, chunkSize, ops);
        } finally {
          await db.close();
        }
      }),
      { numRuns: RUNS },
    );
  });
});

async function run(db: Database, chunkSize: number, ops: Op[]): Promise<void> {
  let committed = new Map<string, Uint8Array>();
  let working = new Map(committed);
  let tx: Transaction = await db.beginTransaction('write');
  let media: StreamStore = await db.newStreamStore(tx, 'media', { chunkSize });
  const restart = async (commit: boolean): Promise<void> => {
    if (commit) await tx.commit();
    else await tx.rollback();
    if (commit) committed = new Map(working);
    else working = new Map(committed);
    tx = await db.beginTransaction('write');
    media = await db.openStreamStore(tx, 'media').catch(async (e: unknown) => {
      if (!SopError.is(e, 'STORE_NOT_FOUND')) throw e;
      return db.newStreamStore(tx, 'media', { chunkSize }); // the creation was rolled back
    });
  };
  for (const o of ops) {
    const name = 'name' in o ? NAMES[o.name]! : '';
    const current = working.get(name);
    switch (o.kind) {
      case 'stream': {
        const bytes = pattern(o.size, o.seed);
        await streamIn(media, name, bytes, o.pieces);
        working.set(name, bytes);
        break;
      }
      case 'write': {
        const size = current?.length ?? 0;
        const offset = o.past > 0 ? size + o.past : Math.floor(o.at * (size + 1));
        const bytes = pattern(o.size, o.seed);
        if (offset > size) {
          await assert.rejects(media.write(name, offset, bytes), (e: unknown) => SopError.is(e, 'INVALID_ARGUMENT'));
          break;
        }
        await media.write(name, offset, bytes);
        if (bytes.length === 0) break; // nothing written: a missing value stays missing
        const next = new Uint8Array(Math.max(size, offset + bytes.length));
        if (current) next.set(current);
        next.set(bytes, offset);
        working.set(name, next);
        break;
      }
      case 'remove':
        assert.equal(await media.remove(name), current !== undefined);
        working.delete(name);
        break;
      case 'read':
        await checkRead(media, name, current, o);
        break;
      case 'commit':
      case 'rollback':
        await restart(o.kind === 'commit');
        break;
    }
  }
  await restart(true);
  for (const name of NAMES) await checkRead(media, name, committed.get(name), { from: 0, to: 1, open: true });
  await tx.commit();
  let chunks = 0;
  for (const v of committed.values()) chunks += Math.ceil(v.length / chunkSize);
  assert.deepEqual(await storeHealth(db), { orphans: 0, metas: committed.size, chunks });
  assert.deepEqual(await verified(db), { values: committed.size, chunks, abandoned: 0, problems: [] });
}

/** A range read against the oracle: bounds drawn as fractions; `open` leaves `end` out. */
async function checkRead(media: StreamStore, name: string, expected: Uint8Array | undefined, o: { from: number; to: number; open: boolean }): Promise<void> {
  const stat = await media.stat(name);
  assert.equal(stat?.size, expected?.length, `size of ${name}`);
  if (!expected) return;
  assert.equal(stat!.chunks, Math.ceil(expected.length / stat!.chunkSize));
  if (expected.length === 0 || o.open) {
    const start = Math.floor(o.from * expected.length);
    assert.deepEqual(await readAll(media.createReadStream(name, { start })), expected.subarray(start), `${name} from ${start}`);
    return;
  }
  const a = Math.floor(o.from * (expected.length - 1));
  const b = Math.floor(o.to * (expected.length - 1));
  const [start, end] = a <= b ? [a, b] : [b, a];
  assert.deepEqual(await readAll(media.createReadStream(name, { start, end })), expected.subarray(start, end + 1), `${name} ${start}..${end}`);
}
