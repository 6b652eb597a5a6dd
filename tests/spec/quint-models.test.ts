/**
 * The Quint models of spec/ (spec/README.md): `quint test` of each model and random
 * simulation of each correct protocol against its invariants. The commit model's invariants
 * are named after spec ACID-1, ACID-2, ACID-3, TX-7, COW-3, COW-4, REC-2 and REC-4; the
 * replication and erasure-coding models check the proposed REPL and EC invariants.
 */
import { strict as assert } from 'node:assert';
import { budgets } from '../../spec/budgets.js';
import { type CheckResult, MODELS, quintTest, simulate, testCounts } from '../../spec/checks.js';
import { pool } from '../../spec/conformance/quint.js';

describe('spec: Quint models (quint test and quint run; ACID-1, ACID-2, ACID-3, REC-2, REPL-1, REPL-2, REPL-3, EC-1, EC-2, EC-3, JNL-5, JNL-6, JNL-7)', function () {
  this.timeout(900_000);
  const b = budgets();
  const results = new Map<string, CheckResult>();

  before(async function () {
    this.timeout(900_000);
    const tasks = MODELS.flatMap((m) => [
      { key: `test ${m.name}`, run: () => quintTest(m, b) },
      { key: `run ${m.name}`, run: () => simulate(m, b) },
    ]);
    const done = await pool(tasks, b.jobs, async (t) => [t.key, await t.run()] as const);
    for (const [key, r] of done) results.set(key, r);
  });

  for (const m of MODELS) {
    it(`quint test spec/${m.testFile}: every run passes`, () => {
      const r = results.get(`test ${m.name}`)!;
      const counts = testCounts(`${r.run.stdout}\n${r.run.stderr}`);
      assert.equal(r.run.code, 0, `${r.label} exited ${r.run.code}:\n${r.run.stdout}\n${r.run.stderr}`);
      assert.ok(counts.passing >= 5, `expected at least 5 passing runs, got ${counts.passing}`);
      assert.equal(counts.failing, 0);
    });

    it(`quint run ${m.main}: ${b.samples} random samples violate none of ${m.invariants.join(', ')}`, () => {
      const r = results.get(`run ${m.name}`)!;
      assert.equal(r.run.code, 0, r.detail);
      assert.match(r.run.stdout + r.run.stderr, /No violation found/);
      assert.deepEqual(r.violated, []);
      assert.ok(r.run.args.includes('--invariants') && m.invariants.every((i) => r.run.args.includes(i)), 'every invariant is checked');
    });
  }
});
