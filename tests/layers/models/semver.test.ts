/**
 * Semver parsing and precedence (spec MODEL-1, MODEL-2): strict versions only, the order of
 * semver.org 2.0.0 section 11, and the registry's B-tree key walking versions in exactly that order.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { compareNatural } from '../../../src/codec/key-order.js';
import { SopError } from '../../../src/index.js';
import { modelKey } from '../../../src/layers/models/key.js';
import { compareSemver, formatSemver, parseSemver } from '../../../src/layers/models/index.js';

describe('layers/models: semver', () => {
  it('accepts strict versions and formats them back unchanged (MODEL-1)', () => {
    for (const v of ['0.0.0', '1.2.3', '10.20.30', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-0.3.7', '1.0.0-x.7.z.92', '1.0.0-x-y-z.--', '2.0.0-rc.1', '1.0.0-alpha-a.b-c-somethinglong', `${Number.MAX_SAFE_INTEGER}.0.0`, '1.0.0-99999999999999999999']) {
      assert.equal(formatSemver(parseSemver(v)), v);
    }
  });

  it('refuses anything else with INVALID_ARGUMENT (MODEL-1)', () => {
    const bad = ['1.0', 'latest', '01.2.3', '1.02.3', '1.2.03', 'v1.2.3', '1.2.3-', '1.2.3-01', '1.2.3-a..b', '1.2.3+build', '1.2.3-rc.1+b', ' 1.2.3', '1.2.3 ', '', '1', '1.2.3.4', '9007199254740992.0.0', '-1.0.0', '1.2.3-é', 1, null, undefined, {}];
    for (const v of bad) assert.throws(() => parseSemver(v), (e: unknown) => SopError.is(e, 'INVALID_ARGUMENT'), JSON.stringify(v));
  });

  it('orders as semver.org section 11 says (MODEL-2)', () => {
    const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.1.0', '1.9.0', '1.10.0', '2.0.0-0', '2.0.0-1', '2.0.0-a', '2.0.0'];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        assert.equal(compareSemver(parseSemver(ordered[i]), parseSemver(ordered[j])), Math.sign(i - j), `${ordered[i]} vs ${ordered[j]}`);
      }
    }
  });

  it('the B-tree key orders versions exactly as semver precedence (MODEL-2)', () => {
    const id = fc.oneof(fc.nat(20), fc.constantFrom('alpha', 'beta', 'rc', 'a', 'b-1', '0a', 'Z'), fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n }));
    const version = fc.record({ major: fc.nat(3), minor: fc.nat(3), patch: fc.nat(3), prerelease: fc.array(id, { maxLength: 3 }) });
    fc.assert(
      fc.property(version, version, (a, b) => {
        const va = parseSemver(formatSemver(a));
        const vb = parseSemver(formatSemver(b));
        assert.equal(Math.sign(compareNatural(modelKey('m', va), modelKey('m', vb))), compareSemver(va, vb), `${formatSemver(va)} vs ${formatSemver(vb)}`);
      }),
      { numRuns: 2000 },
    );
  });
});
