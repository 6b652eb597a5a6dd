import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BlockKind,
  FORMAT_VERSION,
  FRAME_HEADER_SIZE,
  decodeFrame,
  decodeFrameOrEmpty,
  encodeFrame,
  isAllZero,
} from '../../src/codec/frame.js';
import { crc32 } from '../../src/codec/crc32.js';
import { expectCode } from './helpers.js';

const kindArb = fc.constantFrom(...Object.values(BlockKind));

describe('codec/frame (FMT-1, FMT-3)', () => {
  it('round-trips any payload and kind', () => {
    fc.assert(
      fc.property(kindArb, fc.uint8Array({ maxLength: 200 }), (kind, payload) => {
        const block = encodeFrame(kind, payload);
        assert.equal(block.length, FRAME_HEADER_SIZE + payload.length);
        assert.deepEqual(decodeFrame(block, kind, 'test block'), payload);
      }),
    );
  });

  it('has the documented layout', () => {
    const block = encodeFrame(BlockKind.StoreInfo, Uint8Array.from([0xab, 0xcd]));
    assert.equal(new TextDecoder().decode(block.subarray(0, 4)), 'SOPS');
    const view = new DataView(block.buffer);
    assert.equal(view.getUint16(4, true), FORMAT_VERSION);
    assert.equal(view.getUint16(6, true), 3);
    assert.equal(view.getUint32(8, true), 2);
    const covered = Uint8Array.from([...block.subarray(0, 12), 0xab, 0xcd]);
    assert.equal(view.getUint32(12, true), crc32(covered));
  });

  it('returns a view of the payload, not a copy', () => {
    const block = encodeFrame(BlockKind.Value, Uint8Array.from([1, 2, 3]));
    const payload = decodeFrame(block, BlockKind.Value, 'v');
    assert.equal(payload.buffer, block.buffer);
    assert.equal(payload.byteOffset, block.byteOffset + FRAME_HEADER_SIZE);
  });

  it('detects every single-bit flip', () => {
    const block = encodeFrame(BlockKind.Node, Uint8Array.from([0, 1, 2, 3, 0xff, 0x80, 7, 9, 11]));
    for (let bit = 0; bit < block.length * 8; bit++) {
      const damaged = block.slice();
      damaged[bit >> 3]! ^= 1 << (bit & 7);
      expectCode(() => decodeFrame(damaged, BlockKind.Node, 'node X'), 'CORRUPT', /^node X: /);
    }
  });

  it('detects truncation at every length and any appended bytes', () => {
    const block = encodeFrame(BlockKind.TxLog, new Uint8Array(40).fill(5));
    for (let n = 0; n < block.length; n++) {
      expectCode(() => decodeFrame(block.subarray(0, n), BlockKind.TxLog, 'log'), 'CORRUPT', /^log: /);
    }
    const longer = Uint8Array.from([...block, 0]);
    expectCode(() => decodeFrame(longer, BlockKind.TxLog, 'log'), 'CORRUPT', /trailing/);
  });

  it('names the problem: magic, version, kind, checksum', () => {
    const block = encodeFrame(BlockKind.Cow, Uint8Array.from([1]));
    const wrongMagic = block.slice();
    wrongMagic[0] = 0x41;
    expectCode(() => decodeFrame(wrongMagic, BlockKind.Cow, 'cow'), 'CORRUPT', /magic/);
    const newer = block.slice();
    newer[4] = 2;
    expectCode(() => decodeFrame(newer, BlockKind.Cow, 'cow'), 'CORRUPT', /format version 2 is newer than this sop-ts/);
    expectCode(() => decodeFrame(block, BlockKind.DbInfo, 'db info'), 'CORRUPT', /expected a DbInfo block, found Cow/);
    const flipped = block.slice();
    flipped[FRAME_HEADER_SIZE]! ^= 4;
    expectCode(() => decodeFrame(flipped, BlockKind.Cow, 'cow'), 'CORRUPT', /checksum/);
  });

  it('treats empty and all-zero blocks as empty', () => {
    assert.equal(decodeFrameOrEmpty(new Uint8Array(0), BlockKind.Node, 'n'), null);
    assert.equal(decodeFrameOrEmpty(new Uint8Array(4096), BlockKind.Node, 'n'), null);
    const block = encodeFrame(BlockKind.Node, new Uint8Array(0));
    assert.deepEqual(decodeFrameOrEmpty(block, BlockKind.Node, 'n'), new Uint8Array(0));
    expectCode(() => decodeFrame(new Uint8Array(64), BlockKind.Node, 'n'), 'CORRUPT');
    expectCode(() => decodeFrameOrEmpty(Uint8Array.from([0, 0, 1]), BlockKind.Node, 'n'), 'CORRUPT');
    assert.ok(isAllZero(new Uint8Array(0)));
    assert.ok(!isAllZero(Uint8Array.from([0, 0, 0, 1])));
  });

  it('rejects an unknown kind when encoding', () => {
    expectCode(() => encodeFrame(99 as BlockKind, new Uint8Array(0)), 'INVALID_ARGUMENT');
  });

  it('random bytes are CORRUPT or (vanishingly rarely) a frame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), kindArb, (bytes, kind) => {
        try {
          decodeFrameOrEmpty(bytes, kind, 'rand');
        } catch (error) {
          expectCode(() => {
            throw error;
          }, 'CORRUPT');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
