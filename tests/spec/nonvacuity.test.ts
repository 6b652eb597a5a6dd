/**
 * Non-vacuity of the Quint invariants: each deliberately broken protocol (spec/*_buggy_*.qnt)
 * must fail random simulation within the CI budget, with a counterexample that violates the
 * invariant the bug breaks (for the commit model: TX-7 without the version check, COW-3 when
 * the before-image is not durable first, COW-4 when stale images are restored, ACID-2 when
 * sectors are published one by one; for the per-process journals: JNL-5 when replay applies
 * records older than the sector, JNL-6 when it applies a journal it did not sync, JNL-7 when a
 * dead process's locks expire before its replay).
 */
import { strict as assert } from 'node:assert';
import { budgets } from '../../spec/budgets.js';
import { BUGGY, type CheckResult, MODELS, checkBuggy } from '../../spec/checks.js';
import { pool } from '../../spec/conformance/quint.js';

describe('spec: non-vacuity (buggy variants must fail; ACID-2, TX-7, COW-3, COW-4, REPL-1, REPL-3, EC-1, EC-2, EC-3, JNL-5, JNL-6, JNL-7)', function () {
  this.timeout(900_000);
  const b = budgets();
  let results: CheckResult[] = [];

  before(async function () {
    this.timeout(900_000);
    results = await pool(BUGGY, b.jobs, (v) => checkBuggy(v, b));
  });

  it('every model has at least one buggy variant', () => {
    for (const m of MODELS) assert.ok(BUGGY.some((v) => v.model === m.name), `${m.name} has no buggy variant`);
  });

  BUGGY.forEach((v, i) => {
    it(`${v.file} (${v.bug}) violates ${v.breaks.join(' or ')}`, () => {
      const r = results[i]!;
      assert.notEqual(r.run.code, 0, `expected a non-zero exit:\n${r.run.stdout.slice(-2000)}`);
      assert.match(r.run.stdout + r.run.stderr, /Invariant violated/);
      assert.ok(r.violated.some((name) => v.breaks.includes(name)), `violated [${r.violated.join(', ')}], expected one of ${v.breaks.join(', ')}`);
    });
  });
});
