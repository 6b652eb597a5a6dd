import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReader, ByteWriter } from '../../src/codec/bytes.js';
import { MAX_VALUE_DEPTH, ValueTag, decodeValue, encodeValue, readValue, writeValue } from '../../src/codec/value-codec.js';
import { expectCode, returnsOrCorrupt, valueArb } from './helpers.js';

const roundTrip = (v: unknown) => decodeValue(encodeValue(v));

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

describe('codec/value-codec', () => {
  it('decode(encode(x)) deep-equals x for arbitrary supported values', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        assert.deepStrictEqual(roundTrip(v), v);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the float edge cases exact', () => {
    for (const v of [NaN, -0, 0, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, 2 ** 53, -(2 ** 53), 0.1]) {
      assert.ok(Object.is(roundTrip(v), v), String(v));
    }
    assert.equal(encodeValue(-0)[0], ValueTag.Float);
    assert.equal(encodeValue(123)[0], ValueTag.Int);
    assert.equal(encodeValue(123).length, 3);
  });

  it('round-trips bigints, dates, bytes and tricky objects', () => {
    for (const v of [0n, 1n, -1n, 255n, 256n, -256n, 2n ** 64n, -(2n ** 521n) + 7n]) assert.equal(roundTrip(v), v);
    assert.deepStrictEqual(roundTrip(new Date(8.64e15)), new Date(8.64e15));
    assert.deepStrictEqual(roundTrip(new Date(-1)), new Date(-1));
    const buffer = Buffer.from([1, 2, 3]);
    const decoded = roundTrip(buffer);
    assert.equal(Object.getPrototypeOf(decoded), Uint8Array.prototype);
    assert.deepStrictEqual(decoded, new Uint8Array([1, 2, 3]));
    const proto = JSON.parse('{"__proto__": {"x": 1}, "b": 2, "1": 3}') as object;
    const back = roundTrip(proto) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.deepStrictEqual(Object.keys(back), ['1', '__proto__', 'b']);
    assert.deepStrictEqual(back, proto);
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    assert.equal(Object.getPrototypeOf(roundTrip(bare)), null);
    assert.deepStrictEqual(roundTrip('\uFEFF\u0000\u{10FFFF}'), '\uFEFF\u0000\u{10FFFF}');
  });

  it('encodes array holes as undefined', () => {
    // eslint-disable-next-line no-sparse-arrays
    assert.deepStrictEqual(roundTrip([1, , 3]), [1, undefined, 3]);
    assert.deepStrictEqual(roundTrip(new Array(3)), [undefined, undefined, undefined]);
  });

  it('does not alias the input buffer when decoding bytes', () => {
    const enc = encodeValue(new Uint8Array([7, 8]));
    const out = decodeValue(enc) as Uint8Array;
    enc.fill(0);
    assert.deepStrictEqual(out, new Uint8Array([7, 8]));
  });

  it('rejects unsupported values with INVALID_ARGUMENT naming the path', () => {
    class Point {
      x = 1;
    }
    const cases: Array<[unknown, RegExp]> = [
      [() => 1, /^value is a function/],
      [Symbol('s'), /^value is a symbol/],
      [{ a: [1, 2, 3, new Map()] }, /^value\.a\[3\] is a Map instance/],
      [{ 'a b': new Set() }, /^value\["a b"\] is a Set instance/],
      [[new Point()], /^value\[0\] is a Point instance/],
      [new Int8Array(2), /Int8Array/],
      [new Uint8ClampedArray(2), /Uint8ClampedArray/],
      [new Date(NaN), /invalid Date/],
      [{ d: new Error('x') }, /value\.d is an Error instance/],
      [{ [Symbol('k')]: 1 }, /symbol-keyed/],
      ['a\uDC00', /surrogate/],
      [{ 'k\uD800': 1 }, /surrogate/],
      [Object.create({ inherited: 1 }) as unknown, /custom prototype/],
      [Object(1) as unknown, /Number instance/],
    ];
    for (const [v, re] of cases) expectCode(() => encodeValue(v), 'INVALID_ARGUMENT', re);
  });

  it('rejects cycles and nesting deeper than the limit', () => {
    const cyclic: Record<string, unknown> = { a: [1] };
    (cyclic.a as unknown[]).push(cyclic);
    expectCode(() => encodeValue(cyclic), 'INVALID_ARGUMENT', /^value\.a\[1\] is a cycle/);
    const shared = { s: 1 };
    assert.deepStrictEqual(roundTrip([shared, shared]), [shared, shared]);
    assert.deepStrictEqual(roundTrip(nested(MAX_VALUE_DEPTH)), nested(MAX_VALUE_DEPTH));
    expectCode(() => encodeValue(nested(MAX_VALUE_DEPTH + 1)), 'INVALID_ARGUMENT', /deeper than 100/);
  });

  it('rejects over-deep data on decode', () => {
    const deep: number[] = [];
    for (let i = 0; i <= MAX_VALUE_DEPTH; i++) deep.push(ValueTag.Array, 1);
    deep.push(ValueTag.Null);
    expectCode(() => decodeValue(Uint8Array.from(deep)), 'CORRUPT', /deeper/);
  });

  it('rejects malformed encodings with CORRUPT', () => {
    const bad: number[][] = [
      [],
      [0x7f],
      [ValueTag.Int],
      [ValueTag.String, 5, 0x61],
      [ValueTag.Array, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
      [ValueTag.Array, 100],
      [ValueTag.Object, 1, 1, 0x61, ValueTag.Null, 0],
      [ValueTag.Object, 2, 1, 0x61, ValueTag.Null, 1, 0x61, ValueTag.Null],
      [ValueTag.BigInt, 2, 0],
      [ValueTag.BigInt, 0, 1, 0],
      [ValueTag.BigInt, 1, 0],
      [ValueTag.Date, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f],
      [ValueTag.Date, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f],
      [ValueTag.Null, ValueTag.Null],
    ];
    for (const b of bad) expectCode(() => decodeValue(Uint8Array.from(b)), 'CORRUPT');
  });

  it('embeds in a larger stream', () => {
    const w = new ByteWriter();
    writeValue(w, { a: 1 });
    w.u8(0xaa);
    writeValue(w, 'x');
    const r = new ByteReader(w.finish());
    assert.deepStrictEqual(readValue(r), { a: 1 });
    assert.equal(r.u8(), 0xaa);
    assert.equal(readValue(r), 'x');
    r.expectEnd();
  });

  it('random bytes decode or fail with CORRUPT only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => returnsOrCorrupt(() => decodeValue(bytes))),
      { numRuns: 5000 },
    );
  });

  it('mutated and truncated encodings decode or fail with CORRUPT only', () => {
    fc.assert(
      fc.property(valueArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), (v, edits, cut) => {
        const bytes = encodeValue(v);
        for (const [at, byte] of edits) if (bytes.length > 0) bytes[at % bytes.length] = byte;
        returnsOrCorrupt(() => decodeValue(bytes));
        returnsOrCorrupt(() => decodeValue(bytes.subarray(0, cut % (bytes.length + 1))));
      }),
      { numRuns: 3000 },
    );
  });
});
