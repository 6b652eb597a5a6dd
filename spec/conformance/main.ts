/**
 * `npm run spec:conformance [-- --traces N --steps M --seed S --keep DIR]`: generate ITF traces
 * of spec/commit.qnt and replay them against the engine. SOP_NIGHTLY=1 raises the budget.
 */
import { budgets } from '../budgets.js';
import { conformance, summarize } from './conformance.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const b = budgets();
const report = await conformance({
  traces: Number(arg('traces') ?? b.conformanceTraces),
  steps: Number(arg('steps') ?? b.conformanceSteps),
  seed: Number(arg('seed') ?? b.seed),
  ...(arg('keep') ? { keepDir: arg('keep')! } : {}),
});
console.log(summarize(report));
process.exit(report.divergences.length > 0 ? 1 : 0);
