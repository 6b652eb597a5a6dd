import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { BlockKind, FRAME_HEADER_SIZE, checkAnyFrame, encodeFrame } from '../../src/codec/frame.js';
import { validateErasureCoding } from '../../src/ec/config.js';
import { RsCodec } from '../../src/ec/rs-codec.js';
import { decodeShard, encodeShard, shardSize } from '../../src/ec/shard-format.js';
import { SopError } from '../../src/errors/sop-error.js';

const ID = '0a1b2c3d-0000-4000-8000-000000000001';

function flip(file: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(file);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

describe('ec/rs-codec (EC-1)', () => {
  it('decode(encode(x)) == x with any <= P shards lost or corrupted (property)', async () => {
    const geometry = fc.constantFrom([1, 1], [2, 1], [3, 2], [4, 2], [6, 3], [10, 4]);
    await fc.assert(
      fc.asyncProperty(geometry, fc.uint8Array({ maxLength: 5000 }), fc.array(fc.nat(), { maxLength: 6 }), fc.array(fc.boolean(), { maxLength: 6 }), async ([d, p], data, picks, corruptInstead) => {
        const codec = new RsCodec(d!, p!);
        const files: (Uint8Array | null)[] = await codec.encode(ID, data);
        const hit = [...new Set(picks.map((n) => n % codec.total))].slice(0, p);
        hit.forEach((i, k) => {
          // Lost, or damaged anywhere: header, shard bytes or CRC.
          files[i] = corruptInstead[k] ? flip(files[i]!, picks[k]! % files[i]!.length) : null;
        });
        const out = await codec.decode(ID, files);
        assert.deepEqual(Buffer.from(out), Buffer.from(data));
      }),
      { numRuns: 150 },
    );
  });

  it('with more than P shards lost it fails CORRUPT, never returns bytes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.integer({ min: 0, max: 5 }), async (data, start) => {
        const codec = new RsCodec(4, 2);
        const files: (Uint8Array | null)[] = await codec.encode(ID, data);
        for (let k = 0; k < 3; k++) files[(start + k) % 6] = k === 1 ? flip(files[(start + k) % 6]!, 30) : null;
        await assert.rejects(codec.decode(ID, files), (e: unknown) => SopError.is(e, 'CORRUPT'));
      }),
      { numRuns: 40 },
    );
  });

  it('data shards are the blob itself, zero padded to a multiple of 8 (systematic code)', async () => {
    const data = Uint8Array.from({ length: 21 }, (_, i) => i + 1);
    const codec = new RsCodec(2, 1);
    const shards = await codec.encodeShards(ID, data);
    assert.equal(shardSize(21, 2), 16);
    assert.deepEqual([...shards[0]!.bytes], [...data.subarray(0, 16)]);
    assert.deepEqual([...shards[1]!.bytes], [...data.subarray(16), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // The single parity shard rebuilds either data shard alone.
    for (const lost of [0, 1]) {
      const files: (Uint8Array | null)[] = shards.map(encodeShard);
      files[lost] = null;
      assert.deepEqual([...(await codec.decode(ID, files))], [...data]);
    }
  });

  it('a shard file is self-describing and checked by its frame CRC (FMT-1)', async () => {
    const codec = new RsCodec(3, 2);
    const [file] = await codec.encode(ID, new Uint8Array(100).fill(7));
    const shard = decodeShard(file!, 'shard');
    assert.deepEqual({ ...shard, bytes: undefined }, { blobId: ID, blobLength: 100, index: 0, dataShards: 3, parityShards: 2, bytes: undefined });
    assert.equal(checkAnyFrame(file!, 'shard'), BlockKind.EcShard);
    for (const at of [2, 6, FRAME_HEADER_SIZE + 1, FRAME_HEADER_SIZE + 5, file!.length - 1]) {
      assert.throws(() => decodeShard(flip(file!, at), 'shard'), (e: unknown) => SopError.is(e, 'CORRUPT'), `flip at ${at}`);
    }
  });

  it('rejects a valid shard of another blob, index or geometry as if it were missing (EC-1)', async () => {
    const codec = new RsCodec(2, 1);
    const mine = await codec.encode(ID, new Uint8Array(40).fill(1));
    const other = await codec.encode('ffffffff-0000-4000-8000-000000000002', new Uint8Array(40).fill(2));
    const wide = await new RsCodec(2, 2).encode(ID, new Uint8Array(40).fill(1));
    const states = codec.check(ID, [other[0]!, mine[0]!, wide[2]!]);
    assert.match(states[0]!.problem!, /belongs to blob ffffffff/);
    assert.match(states[1]!.problem!, /holds shard 0/);
    assert.match(states[2]!.problem!, /coded 2\+2/);
    // With a foreign shard in place of a data shard, decoding still returns this blob's bytes.
    assert.deepEqual([...(await codec.decode(ID, [other[0]!, mine[1]!, mine[2]!]))], new Array(40).fill(1));
  });

  it('rebuild() restores every missing shard byte for byte, and parityConsistent() spots stale parity', async () => {
    const codec = new RsCodec(4, 2);
    const data = Uint8Array.from({ length: 999 }, (_, i) => (i * 31) & 255);
    const shards = await codec.encodeShards(ID, data);
    const rebuilt = await codec.rebuild([null, shards[1]!, shards[2]!, shards[3]!, null, shards[5]!]);
    for (const i of [0, 4]) assert.deepEqual(encodeShard(rebuilt[i]!), encodeShard(shards[i]!));
    assert.equal(await codec.parityConsistent(shards), true);
    const stale = shards.map((s) => ({ ...s, bytes: Uint8Array.from(s.bytes) }));
    stale[5]!.bytes[3] ^= 0xff;
    assert.equal(await codec.parityConsistent(stale), false);
  });

  it('validates the erasureCoding option (INVALID_ARGUMENT)', () => {
    const bad: unknown[] = [
      null,
      { dataShards: 0, parityShards: 1, drives: ['/a'] },
      { dataShards: 2, parityShards: 7, drives: [] },
      { dataShards: 2, parityShards: 1, drives: ['/a', '/b'] },
      { dataShards: 2, parityShards: 1, drives: ['/a', '/b', 'relative'] },
      { dataShards: 2, parityShards: 1, drives: ['/a', '/b', '/a/'] },
      { dataShards: 1.5, parityShards: 1, drives: ['/a', '/b'] },
    ];
    for (const value of bad) assert.throws(() => validateErasureCoding(value), (e: unknown) => SopError.is(e, 'INVALID_ARGUMENT'), JSON.stringify(value));
    assert.deepEqual(validateErasureCoding({ dataShards: 2, parityShards: 1, drives: ['/a/', '/b//c', 'C:\\d'] }).drives, ['/a', '/b/c', 'C:/d']);
  });

  it('checkAnyFrame accepts every kind and reports damage as CORRUPT', () => {
    for (const kind of Object.values(BlockKind)) assert.equal(checkAnyFrame(encodeFrame(kind, Uint8Array.of(1, 2)), 'b'), kind);
    const block = encodeFrame(BlockKind.Node, Uint8Array.of(1, 2, 3));
    assert.throws(() => checkAnyFrame(flip(block, FRAME_HEADER_SIZE + 1), 'b'), /checksum/);
    const unknownKind = Uint8Array.from(block);
    unknownKind[6] = 77;
    assert.throws(() => checkAnyFrame(unknownKind, 'b'), (e: unknown) => SopError.is(e, 'CORRUPT'));
  });
});
