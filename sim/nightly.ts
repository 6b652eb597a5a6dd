/**
 * `npm run sim:nightly [-- --minutes N]`: the long simulation budget. Runs fresh seeds until the
 * time is up (three quarters standalone, one quarter clustered: 3 nodes on one disk and one
 * Redis), fails on any violation, on any fault kind or crash point never hit, and when a sample
 * of seeds does not reproduce its trace hash (hidden nondeterminism).
 */
import { randomInt } from 'node:crypto';
import { SystemClock } from '../src/adapters/system-clock.js';
import { runBatch } from './batch.js';
import { FAULT_KINDS } from './options.js';
import { runSeed } from './run.js';

const args = process.argv.slice(2);
const minutes = Number(args[args.indexOf('--minutes') + 1] || 60);
const clock = new SystemClock();
const base = randomInt(0, 2 ** 31 - 10_000_000);
const seeds = Array.from({ length: 10_000_000 }, (_, i) => base + i);

const onResult = (r: { seed: number; violations: string[] }, done: number): void => {
  if (done % 200 === 0 || r.violations.length) process.stderr.write(`[${done} seeds] seed ${r.seed} ${r.violations.length ? 'VIOLATION' : 'ok'}\n`);
};
const summary = await runBatch({ seeds, steps: 150, clients: 5, faults: [...FAULT_KINDS], budgetMs: minutes * 45_000, now: () => clock.monotonic(), onResult });
const clustered = await runBatch({ seeds: seeds.slice(summary.runs), steps: 150, clients: 6, nodes: 3, faults: [...FAULT_KINDS], budgetMs: minutes * 15_000, now: () => clock.monotonic(), onResult });

const sample = Array.from({ length: 20 }, (_, i) => base + Math.floor((i * summary.runs) / 20));
const nondeterministic: number[] = [];
for (const seed of sample) {
  const options = { seed, steps: 150, clients: 5, faults: [...FAULT_KINDS] };
  if ((await runSeed(options)).traceHash !== (await runSeed(options)).traceHash) nondeterministic.push(seed);
}

console.log(JSON.stringify({ minutes, base, runs: summary.runs, clusteredRuns: clustered.runs, transactions: summary.transactions, faults: summary.faults, crashPoints: summary.crashPoints }, null, 1));
const problems = [
  ...summary.failed.map((r) => `seed ${r.seed}: ${r.violations.slice(0, 2).join(' | ')}  (replay: npx sop sim --seed ${r.seed} --steps 150 --clients 5)`),
  ...clustered.failed.map((r) => `clustered seed ${r.seed}: ${r.violations.slice(0, 2).join(' | ')}  (replay: npx sop sim --seed ${r.seed} --steps 150 --clients 6 --nodes 3)`),
  ...summary.missingFaults.map((f) => `fault kind never injected: ${f}`),
  ...summary.missingPoints.map((p) => `crash point never hit: ${p}`),
  ...nondeterministic.map((s) => `seed ${s} did not reproduce its trace hash`),
];
for (const p of problems) console.error(p);
const failed = summary.failed.length + clustered.failed.length;
console.log(`nightly: ${summary.runs + clustered.runs - failed} passed, ${failed} failed`);
process.exit(problems.length > 0 ? 1 : 0);
