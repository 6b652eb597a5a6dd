// Mocha's spec reporter plus, at the end, the slowest test files (CI must stay within its time
// budget; long suites move to nightly scripts) and one closing line in the plain form CI tools
// read: "mocha: N passed, N failed, N skipped".
const Mocha = require('mocha');
const path = require('node:path');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const perFile = new Map();
    const add = (runnable) => {
      const where = runnable.file ?? runnable.parent?.file;
      const file = where ? path.relative(process.cwd(), where) : '(root hooks)';
      perFile.set(file, (perFile.get(file) ?? 0) + (runnable.duration ?? 0));
    };
    runner.on('test end', add);
    runner.on('hook end', add);
    runner.once('end', () => {
      const s = runner.stats;
      const slowest = [...perFile].sort((a, b) => b[1] - a[1]).slice(0, 12);
      process.stdout.write('\nslowest test files (tests and their hooks):\n');
      for (const [file, ms] of slowest) process.stdout.write(`  ${(ms / 1000).toFixed(1).padStart(7)} s  ${file}\n`);
      process.stdout.write(`mocha: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
    });
  }
}

module.exports = SummaryReporter;
