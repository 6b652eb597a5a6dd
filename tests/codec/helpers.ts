/** Shared assertions and generators for the codec tests. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SopError, type SopErrorCode } from '../../src/errors/sop-error.js';

export function expectCode(fn: () => unknown, code: SopErrorCode, message?: RegExp): SopError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof SopError, `expected SopError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return error;
  }
  assert.fail(`expected SopError ${code}, nothing was thrown`);
}

/** Runs a decoder on damaged input: it may succeed, or fail with CORRUPT, nothing else. */
export function returnsOrCorrupt(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (error instanceof SopError && error.code === 'CORRUPT') return;
    throw error;
  }
}

export const uuidArb = fc.uuid({ version: [4] }).map((u) => u.toLowerCase());

export const stringArb = fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 20 }));

/** Every value the value codec supports, with the tie-breaking shapes fast-check likes to shrink to. */
export const valueArb: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(undefined, null, true, false, 0, -0, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53)),
    fc.double(),
    fc.integer(),
    fc.maxSafeInteger(),
    stringArb,
    fc.bigInt(),
    fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
    fc.date({ noInvalidDate: true }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(stringArb, tie('value'), { maxKeys: 5 }),
  ),
})).value;
