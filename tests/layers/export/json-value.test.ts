/**
 * The export's tagged JSON (spec EXP-2): every value the value codec stores survives
 * toJson -> JSON text -> fromJson with the same codec bytes (so the same type, -0, NaN, bigint,
 * Date, bytes, undefined, null-prototype objects, "$t" and "__proto__" keys); malformed tags are refused.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { encodeValue } from '../../../src/codec/value-codec.js';
import { fromJson, toJson } from '../../../src/layers/export/index.js';

const storable = (v: unknown): boolean => {
  try {
    encodeValue(v);
    return true;
  } catch {
    return false;
  }
};

const leaf = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.constantFrom(-0, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER + 2, 5e-324),
  fc.string(),
  fc.bigInt({ min: -(2n ** 100n), max: 2n ** 100n }),
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 40 }),
);
const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('$t', 'v', '__proto__', 'constructor', '0', '10'));
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(key, tie('value'), { maxKeys: 4 }), fc.dictionary(key, tie('value'), { maxKeys: 3 }).map((o) => Object.assign(Object.create(null) as object, o))),
}));

describe('layers/export: tagged JSON values', () => {
  it('round-trips every storable value exactly, as the value codec sees it (EXP-2)', () => {
    fc.assert(
      fc.property(value.filter(storable), (v) => {
        const back = fromJson(JSON.parse(JSON.stringify(toJson(v))));
        assert.deepEqual(Buffer.from(encodeValue(back)), Buffer.from(encodeValue(v)));
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps "__proto__" as an own key and a "$t" key as data', () => {
    const v = JSON.parse('{"__proto__":{"x":1},"$t":"bytes","v":"AA=="}') as object;
    const back = fromJson(JSON.parse(JSON.stringify(toJson(v)))) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.deepEqual(Object.keys(back), ['__proto__', '$t', 'v']);
    assert.equal(back.$t, 'bytes');
  });

  it('refuses malformed tagged values', () => {
    for (const bad of ['{"$t":"bytes","v":"***"}', '{"$t":"bytes"}', '{"$t":"bigint","v":"1.5"}', '{"$t":"number","v":"1"}', '{"$t":"date","v":"x"}', '{"$t":"what","v":1}', '{"$t":"undefined","v":1}', '{"$t":"object","v":[1]}']) {
      assert.throws(() => fromJson(JSON.parse(bad)), /malformed tagged value/, bad);
    }
  });
});
