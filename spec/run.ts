/**
 * `npm run spec`: Quint unit tests, random simulation of every model, non-vacuity of the
 * buggy variants, and trace conformance of the engine against spec/commit.qnt. Bounded for CI;
 * SOP_NIGHTLY=1 raises the budgets (spec/budgets.ts).
 *
 *   tsx spec/run.ts [quint|nonvacuity|conformance ...]   (default: all)
 */
import { budgets } from './budgets.js';
import { BUGGY, type CheckResult, MODELS, checkBuggy, quintTest, simulate } from './checks.js';
import { conformance, summarize } from './conformance/conformance.js';
import { pool } from './conformance/quint.js';

const parts = process.argv.slice(2);
const want = (part: string): boolean => parts.length === 0 || parts.includes(part);
const b = budgets();
console.log(`spec: seed ${b.seed}${b.nightly ? ' (nightly budgets)' : ''}`);
const started = Date.now();
let failed = 0;

const report = (r: CheckResult): void => {
  console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.label}: ${r.detail}`);
  if (!r.ok) failed++;
};

const tasks: Array<() => Promise<CheckResult>> = [];
if (want('quint')) for (const m of MODELS) tasks.push(() => quintTest(m, b), () => simulate(m, b));
if (want('nonvacuity')) for (const v of BUGGY) tasks.push(() => checkBuggy(v, b));
for (const r of await pool(tasks, b.jobs, (task) => task())) report(r);

if (want('conformance')) {
  const c = await conformance({ traces: b.conformanceTraces, steps: b.conformanceSteps, seed: b.seed });
  console.log(summarize(c));
  if (c.divergences.length > 0 || c.results.length < b.conformanceTraces) failed++;
}

const total = tasks.length + (want('conformance') ? 1 : 0);
console.log(`spec: ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${total - failed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
