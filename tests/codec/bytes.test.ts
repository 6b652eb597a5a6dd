import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReader, ByteWriter, varuintSize } from '../../src/codec/bytes.js';
import { expectCode, returnsOrCorrupt, stringArb, uuidArb } from './helpers.js';

const reader = (bytes: number[] | Uint8Array) => new ByteReader(Uint8Array.from(bytes));

describe('codec/bytes', () => {
  it('round-trips every field type in sequence', () => {
    fc.assert(
      fc.property(
        fc.record({
          u8: fc.integer({ min: 0, max: 0xff }),
          u16: fc.integer({ min: 0, max: 0xffff }),
          u32: fc.integer({ min: 0, max: 0xffffffff }),
          f64: fc.double(),
          vu: fc.oneof(fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
          vi: fc.oneof(fc.integer(), fc.maxSafeInteger()),
          bytes: fc.uint8Array({ maxLength: 300 }),
          s: stringArb,
          id: uuidArb,
        }),
        (x) => {
          const w = new ByteWriter(1); // tiny, to exercise growth
          w.u8(x.u8);
          w.u16(x.u16);
          w.u32(x.u32);
          w.f64(x.f64);
          w.varuint(x.vu);
          w.varint(x.vi);
          w.bytes(x.bytes);
          w.string(x.s);
          w.uuid(x.id);
          const r = new ByteReader(w.finish());
          assert.equal(r.u8(), x.u8);
          assert.equal(r.u16(), x.u16);
          assert.equal(r.u32(), x.u32);
          assert.ok(Object.is(r.f64(), x.f64));
          assert.equal(r.varuint(), x.vu);
          assert.ok(Object.is(r.varint(), x.vi === 0 ? 0 : x.vi));
          assert.deepEqual(r.bytes(), x.bytes);
          assert.equal(r.string(), x.s);
          assert.equal(r.uuid(), x.id);
          r.expectEnd();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('varints hit the 53-bit extremes with the expected sizes', () => {
    for (const v of [0, 1, 127, 128, 2 ** 31, 2 ** 32, 2 ** 49 - 1, 2 ** 49, Number.MAX_SAFE_INTEGER]) {
      const w = new ByteWriter();
      w.varuint(v);
      const bytes = w.finish();
      assert.equal(bytes.length, varuintSize(v));
      assert.ok(bytes.length <= 8);
      assert.equal(reader(bytes).varuint(), v);
    }
    for (const v of [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, -1, -64, 63, 64, -65, -(2 ** 52) - 1]) {
      const w = new ByteWriter();
      w.varint(v);
      assert.equal(reader(w.finish()).varint(), v);
    }
  });

  it('keeps a string length prefix right when UTF-8 is shorter than the worst case', () => {
    for (const s of ['a'.repeat(50), 'a'.repeat(127), 'é'.repeat(64), 'a'.repeat(20000), '\u{1F600}'.repeat(30), '\uFEFFbom']) {
      const w = new ByteWriter();
      w.string(s);
      w.u8(7);
      const r = new ByteReader(w.finish());
      assert.equal(r.string(), s);
      assert.equal(r.u8(), 7);
    }
  });

  it('writers reject unencodable input with INVALID_ARGUMENT', () => {
    const w = new ByteWriter();
    expectCode(() => w.u8(256), 'INVALID_ARGUMENT');
    expectCode(() => w.u16(-1), 'INVALID_ARGUMENT');
    expectCode(() => w.u32(1.5), 'INVALID_ARGUMENT');
    expectCode(() => w.varuint(2 ** 53), 'INVALID_ARGUMENT');
    expectCode(() => w.varuint(-1), 'INVALID_ARGUMENT');
    expectCode(() => w.varint(-(2 ** 53)), 'INVALID_ARGUMENT');
    expectCode(() => w.string('a\uD800b'), 'INVALID_ARGUMENT', /surrogate/);
    expectCode(() => w.uuid('not-a-uuid'), 'INVALID_ARGUMENT');
    assert.equal(w.length, 0);
  });

  it('readers reject truncation, overlong varints and bad UTF-8 with CORRUPT', () => {
    expectCode(() => reader([]).u8(), 'CORRUPT', /truncated/);
    expectCode(() => reader([1]).u16(), 'CORRUPT');
    expectCode(() => reader([1, 2, 3]).u32(), 'CORRUPT');
    expectCode(() => reader([1, 2, 3, 4, 5, 6, 7]).f64(), 'CORRUPT');
    expectCode(() => reader([0x80]).varuint(), 'CORRUPT');
    expectCode(() => reader(Array(9).fill(0xff)).varuint(), 'CORRUPT', /longer/);
    expectCode(() => reader([0x80, 0x00]).varuint(), 'CORRUPT', /non-minimal/);
    expectCode(() => reader([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10]).varuint(), 'CORRUPT', /2\^53/);
    expectCode(() => reader([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).varint(), 'CORRUPT', /2\^53/);
    expectCode(() => reader([5, 1, 2]).bytes(), 'CORRUPT');
    expectCode(() => reader([2, 0xc3, 0x28]).string(), 'CORRUPT', /UTF-8/);
    expectCode(() => reader([40, ...Array(39).fill(0x61), 0xff]).string(), 'CORRUPT', /UTF-8/);
    expectCode(() => reader([3, 0xed, 0xa0, 0x80]).string(), 'CORRUPT', /UTF-8/); // encoded surrogate
    expectCode(() => reader(Array(15).fill(0)).uuid(), 'CORRUPT');
    expectCode(() => reader([1, 2]).expectEnd(), 'CORRUPT', /trailing/);
  });

  it('reads relative to a subarray view', () => {
    const base = Uint8Array.from([9, 9, 0x34, 0x12, 9]);
    assert.equal(new ByteReader(base.subarray(2, 4)).u16(), 0x1234);
    expectCode(() => new ByteReader(base.subarray(2, 3)).u16(), 'CORRUPT');
  });

  it('any random input to any reader either decodes or is CORRUPT', () => {
    const ops = ['u8', 'u16', 'u32', 'f64', 'varuint', 'varint', 'bytes', 'string', 'uuid'] as const;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), fc.array(fc.constantFrom(...ops), { maxLength: 8 }), (bytes, seq) => {
        const r = new ByteReader(bytes);
        returnsOrCorrupt(() => {
          for (const op of seq) r[op]();
          r.expectEnd();
        });
      }),
      { numRuns: 2000 },
    );
  });
});
