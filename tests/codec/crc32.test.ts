import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32, crc32Update } from '../../src/codec/crc32.js';
import { expectCode } from './helpers.js';

/** Bit-at-a-time reference: slow but obviously right. */
function referenceCrc(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const ascii = (s: string) => new TextEncoder().encode(s);

describe('codec/crc32', () => {
  it('matches the standard check values', () => {
    assert.equal(crc32(ascii('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
    assert.equal(crc32(ascii('The quick brown fox jumps over the lazy dog')), 0x414fa339);
    assert.equal(crc32(new Uint8Array(32)), 0x190a55ad);
  });

  it('agrees with a bitwise reference on random data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        assert.equal(crc32(bytes), referenceCrc(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('covers exactly [start, end) and chains', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(), fc.nat(), (bytes, x, y) => {
        const a = x % (bytes.length + 1);
        const b = a + (y % (bytes.length - a + 1));
        assert.equal(crc32(bytes, a, b), referenceCrc(bytes.slice(a, b)));
        assert.equal(crc32Update(crc32(bytes, 0, a), bytes, a), crc32(bytes));
      }),
    );
  });

  it('works on a subarray view with an odd offset', () => {
    const big = ascii('xx123456789yy');
    assert.equal(crc32(big.subarray(2, 11)), 0xcbf43926);
  });

  it('rejects a bad range', () => {
    expectCode(() => crc32(new Uint8Array(4), 3, 2), 'INVALID_ARGUMENT');
    expectCode(() => crc32(new Uint8Array(4), 0, 5), 'INVALID_ARGUMENT');
  });
});
