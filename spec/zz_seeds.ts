import { BUGGY, checkBuggy } from './checks.js';
import { budgets } from './budgets.js';
for (const seed of [1, 2, 3, 4, 5]) {
  for (const v of BUGGY) {
    const r = await checkBuggy(v, { ...budgets(), seed, buggySamples: 2000, steps: 60 });
    console.log(seed, v.file, r.ok, r.violated.join(','), r.run.ms);
  }
}
