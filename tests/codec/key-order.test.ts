import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type KeyOrderSpec, makeKeyCompare, validateKey, validateKeyOrderSpec } from '../../src/codec/key-order.js';
import { expectCode } from './helpers.js';

const natural: KeyOrderSpec = { kind: 'natural' };
const cmpNatural = makeKeyCompare(natural);
const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Keys from small domains so that ties and number/bigint equalities actually occur. */
const scalarKeyArb = fc.oneof(
  fc.boolean(),
  fc.integer({ min: -3, max: 3 }),
  fc.bigInt({ min: -3n, max: 3n }),
  fc.constantFrom(0.5, -0.5, -0, Infinity, -Infinity, 2 ** 53, 2 ** 53 + 2, -(2 ** 53)),
  fc.constantFrom(2n ** 53n - 1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 1100n),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 3, unit: fc.constantFrom('a', 'b', '\u00e9', '\u{1F600}') }),
  fc.integer({ min: -2, max: 2 }).map((t) => new Date(t)),
  fc.uint8Array({ maxLength: 3, max: 2 }),
);

const keyArb: fc.Arbitrary<unknown> = fc.letrec<{ key: unknown }>((tie) => ({
  key: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarKeyArb,
    fc.array(tie('key'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('key'), { maxKeys: 3 }),
  ),
})).key;

const fieldsSpec: KeyOrderSpec = {
  kind: 'fields',
  fields: [
    { field: 'b', order: 'desc' },
    { field: 'a', order: 'asc' },
  ],
};
const recordArb = fc.record({ a: scalarKeyArb, b: scalarKeyArb, extra: fc.anything() });

function checkTotalOrder(compare: (a: unknown, b: unknown) => number, keys: unknown[]): void {
  for (const k of keys) assert.equal(compare(k, k), 0);
  for (const a of keys) for (const b of keys) assert.equal(sign(compare(a, b)) + sign(compare(b, a)), 0);
  // Sorting with a non-transitive comparer leaves some later pair out of order.
  const sorted = [...keys].sort(compare);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) assert.ok(compare(sorted[i], sorted[j]) <= 0, `not transitive at ${i},${j}`);
  }
}

describe('codec/key-order', () => {
  describe('natural order', () => {
    it('is a total order', () => {
      fc.assert(
        fc.property(fc.array(keyArb, { maxLength: 12 }), (keys) => {
          keys.forEach((k) => validateKey(k, natural));
          checkTotalOrder(cmpNatural, keys);
        }),
        { numRuns: 1000 },
      );
    });

    it('ranks types: boolean < number|bigint < string < Date < bytes < array < object', () => {
      const ladder = [false, true, -Infinity, -1n, 0, 0.5, 1n, 2 ** 60, '', 'a', new Date(0), new Uint8Array(0), [], [0], {}, { a: 0 }];
      for (let i = 0; i + 1 < ladder.length; i++) assert.equal(cmpNatural(ladder[i], ladder[i + 1]), -1, `${i}`);
    });

    it('compares numbers and bigints exactly', () => {
      assert.equal(cmpNatural(1n, 1), 0);
      assert.equal(cmpNatural(-0, 0n), 0);
      assert.equal(cmpNatural(2 ** 53, 2n ** 53n + 1n), -1);
      assert.equal(cmpNatural(2n ** 53n + 1n, 2 ** 53), 1);
      assert.equal(cmpNatural(2 ** 53 + 2, 2n ** 53n + 1n), 1);
      assert.equal(cmpNatural(0.5, 0n), 1);
      assert.equal(cmpNatural(-0.5, 0n), -1);
      assert.equal(cmpNatural(-0.5, -1n), 1);
      assert.equal(cmpNatural(Infinity, 2n ** 2000n), 1);
      assert.equal(cmpNatural(-Infinity, -(2n ** 2000n)), -1);
      assert.equal(cmpNatural(1e300, 10n ** 300n), sign(Number(BigInt(1e300) - 10n ** 300n)));
    });

    it('orders strings by UTF-16 code units, bytes and arrays by content then length', () => {
      assert.equal(cmpNatural('\uFFFF', '\u{1F600}'), 1); // code units, not code points
      assert.equal(cmpNatural(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0])), -1);
      assert.equal(cmpNatural(new Uint8Array([2]), new Uint8Array([1, 9])), 1);
      assert.equal(cmpNatural([1, 'a'], [1, 'b']), -1);
      assert.equal(cmpNatural([1], [1, 0]), -1);
      assert.equal(cmpNatural(Buffer.from([1]), new Uint8Array([1])), 0);
    });

    it('orders objects by sorted key names, then by values in that order', () => {
      assert.equal(cmpNatural({ b: 1, a: 2 }, { a: 2, b: 1 }), 0);
      assert.equal(cmpNatural({ a: 9 }, { b: 0 }), -1);
      assert.equal(cmpNatural({ a: 1 }, { a: 1, b: 0 }), -1);
      assert.equal(cmpNatural({ a: 1, b: 5 }, { a: 2, b: 0 }), -1);
      assert.equal(cmpNatural({ z: 1, b: 5 }, { b: 5, z: 0 }), 1);
    });

    it('rejects non-keys with INVALID_ARGUMENT', () => {
      const bad: Array<[unknown, RegExp]> = [
        [undefined, /^key is undefined/],
        [null, /^key is null/],
        [NaN, /NaN/],
        [new Date(NaN), /invalid Date/],
        [() => 0, /function/],
        [Symbol('x'), /symbol/],
        [new Map(), /Map instance/],
        [{ a: [1, undefined] }, /^key\.a\[1\] is undefined/],
        // eslint-disable-next-line no-sparse-arrays
        [[1, , 2], /^key\[1\] is undefined/],
        [{ a: { b: NaN } }, /^key\.a\.b is NaN/],
        [new Float64Array(1), /Float64Array/],
        ['\uD800', /surrogate/],
      ];
      for (const [k, re] of bad) {
        expectCode(() => validateKey(k, natural), 'INVALID_ARGUMENT', re);
      }
      for (const [k] of bad.slice(0, 7)) expectCode(() => cmpNatural(k, 1), 'INVALID_ARGUMENT');
    });

    it('rejects cyclic and over-deep keys', () => {
      const cyclic: unknown[] = [1];
      cyclic.push(cyclic);
      expectCode(() => validateKey(cyclic, natural), 'INVALID_ARGUMENT', /^key\[1\] is a cycle/);
      const other: unknown[] = [1];
      other.push(other);
      expectCode(() => cmpNatural(cyclic, other), 'INVALID_ARGUMENT', /deeper/);
      let deep: unknown = 1;
      for (let i = 0; i < 101; i++) deep = [deep];
      expectCode(() => validateKey(deep, natural), 'INVALID_ARGUMENT', /deeper than 100/);
    });
  });

  describe('fields order', () => {
    const cmpFields = makeKeyCompare(fieldsSpec);
    const cmpAsc = makeKeyCompare({
      kind: 'fields',
      fields: [
        { field: 'b', order: 'asc' },
        { field: 'a', order: 'desc' },
      ],
    });

    it('is a total order and desc reverses asc', () => {
      fc.assert(
        fc.property(fc.array(recordArb, { maxLength: 10 }), (keys) => {
          keys.forEach((k) => validateKey(k, fieldsSpec));
          checkTotalOrder(cmpFields, keys);
          for (const a of keys) for (const b of keys) assert.equal(sign(cmpAsc(a, b)) + sign(cmpFields(a, b)), 0);
        }),
        { numRuns: 1000 },
      );
    });

    it('compares field by field, ignoring extra fields', () => {
      assert.equal(cmpFields({ a: 1, b: 2 }, { a: 0, b: 1 }), -1); // b desc decides
      assert.equal(cmpFields({ a: 1, b: 2 }, { a: 0, b: 2 }), 1); // then a asc
      assert.equal(cmpFields({ a: 1, b: 2, x: 'p' }, { a: 1, b: 2, x: 'q' }), 0);
    });

    it('supports numeric fields on array keys', () => {
      const cmp = makeKeyCompare({ kind: 'fields', fields: [{ field: 1, order: 'desc' }] });
      assert.equal(cmp(['x', 1], ['a', 2]), 1);
      validateKey(['z', 5], { kind: 'fields', fields: [{ field: 1, order: 'asc' }] });
    });

    it('rejects keys without a declared field', () => {
      expectCode(() => validateKey({ a: 1 }, fieldsSpec), 'INVALID_ARGUMENT', /lacks field "b"/);
      expectCode(() => cmpFields({ a: 1 }, { a: 1, b: 1 }), 'INVALID_ARGUMENT', /lacks field "b"/);
      expectCode(() => validateKey(5, fieldsSpec), 'INVALID_ARGUMENT', /must be an object/);
      expectCode(() => validateKey(['a', 'b'], fieldsSpec), 'INVALID_ARGUMENT', /array/);
      expectCode(() => validateKey({ a: 1, b: null }, fieldsSpec), 'INVALID_ARGUMENT', /^key\.b is null/);
    });
  });

  describe('user comparer', () => {
    it('is used and normalised', () => {
      const cmp = makeKeyCompare(natural, (a, b) => (b as number) - (a as number));
      assert.equal(cmp(1, 5), 1);
      assert.equal(cmp(5, 5), 0);
    });

    it('turns bad results and throws into INVALID_ARGUMENT', () => {
      for (const r of [NaN, Infinity, '1', undefined, null]) {
        const cmp = makeKeyCompare(natural, () => r as number);
        expectCode(() => cmp(1, 2), 'INVALID_ARGUMENT', /comparer returned/);
      }
      const throwing = makeKeyCompare(natural, () => {
        throw new TypeError('boom');
      });
      const err = expectCode(() => throwing(1, 2), 'INVALID_ARGUMENT', /comparer threw: boom/);
      assert.ok(err.cause instanceof TypeError);
    });
  });

  describe('validateKeyOrderSpec', () => {
    it('accepts and normalises good specs', () => {
      assert.deepStrictEqual(validateKeyOrderSpec({ kind: 'natural', junk: 1 }, 'user'), { kind: 'natural' });
      const spec = JSON.parse(JSON.stringify(fieldsSpec)) as unknown;
      assert.deepStrictEqual(validateKeyOrderSpec(spec, 'disk'), fieldsSpec);
    });

    it('rejects bad shapes with a code chosen by the source', () => {
      const bad: unknown[] = [
        null,
        'natural',
        { kind: 'other' },
        { kind: 'fields' },
        { kind: 'fields', fields: [] },
        { kind: 'fields', fields: [{ field: 'a' }] },
        { kind: 'fields', fields: [{ field: -1, order: 'asc' }] },
        { kind: 'fields', fields: [{ field: {}, order: 'asc' }] },
        { kind: 'fields', fields: [null] },
        {
          kind: 'fields',
          fields: [
            { field: '1', order: 'asc' },
            { field: 1, order: 'desc' },
          ],
        },
      ];
      for (const x of bad) {
        expectCode(() => validateKeyOrderSpec(x, 'user'), 'INVALID_ARGUMENT');
        expectCode(() => validateKeyOrderSpec(x, 'disk'), 'CORRUPT');
      }
    });
  });
});
