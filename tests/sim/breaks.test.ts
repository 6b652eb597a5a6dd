/**
 * The checkers have teeth: each deliberate bug from fault-injection/engine-breaks.ts — no fsync
 * of the priority log before the registry flip (LOG-2, ACID-3), no read-set version check
 * (TX-3, ACID-4), no copy-on-write before-image (COW-2, REG-4), a merge that keeps removed items (TX-5) — must be caught by the
 * simulator within a fixed budget of seeds.
 */
import assert from 'node:assert/strict';
import { BREAKS, type BreakName, type EngineBreak } from '../../fault-injection/engine-breaks.js';
import { FAULT_KINDS } from '../../sim/options.js';
import { runSeed } from '../../sim/run.js';

const BUDGET = 120;

describe('deliberately broken engines are caught (LOG-2, TX-3, COW-2, REG-4)', function () {
  this.timeout(900_000);
  for (const name of Object.keys(BREAKS) as BreakName[]) {
    const engineBreak: EngineBreak = BREAKS[name];
    it(`${name}: ${engineBreak.describe}`, async () => {
      const undo = engineBreak.apply?.();
      try {
        for (let seed = 1; seed <= BUDGET; seed++) {
          const r = await runSeed({ seed, steps: 100, clients: 4, faults: [...FAULT_KINDS], wrapFs: engineBreak.wrapFs });
          if (r.violations.length > 0) {
            process.stdout.write(`      caught at seed ${seed}: ${r.violations[0]!.slice(0, 140)}\n`);
            return;
          }
        }
        assert.fail(`${name} survived ${BUDGET} seeds`);
      } finally {
        undo?.();
      }
    });
  }

  it('the unbroken engine passes the same seeds that catch the breaks', async () => {
    for (const seed of [1, 3, 28]) {
      const r = await runSeed({ seed, steps: 100, clients: 4, faults: [...FAULT_KINDS] });
      assert.deepEqual(r.violations, [], `seed ${seed}`);
    }
  });
});

describe('faults beyond the budget fail loudly (ACID-3, FMT-1, REG-4, EC-1, EC-3, REPL-2)', function () {
  this.timeout(900_000);

  it('losing the whole drive mid-run is reported (lost stores and commits), never passes', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const r = await runSeed({ seed, steps: 100, clients: 4, faults: [], beyondBudget: 'drive-loss' });
      assert.ok(r.violations.length > 0, `seed ${seed}: a lost drive went unnoticed`);
    }
  });

  it('more than P erasure-coded drives replaced mid-run is reported with typed errors (EC-1, EC-3), never passes, never wrong bytes', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      // In place: in journal mode the blobs committed since the last checkpoint are in the journal,
      // not on the drives, so a loss of drives may be masked by the checkpoint coding them afresh.
      const r = await runSeed({ seed, steps: 100, clients: 4, faults: [], beyondBudget: 'ec-drive-loss', journal: false });
      assert.match(r.scenario, /ec=(2\+1|4\+2)/);
      assert.ok(r.violations.length > 0, `seed ${seed}: P+1 lost drives went unnoticed`);
      assert.ok(!r.violations.some((v) => v.includes('wrong bytes') || v.includes('untyped')), `seed ${seed}: ${r.violations.join('\n')}`);
    }
  });

  it('both replicated drives lost mid-run, or the active one while the passive is out of sync, is reported with typed errors (REPL-2), never passes', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const r = await runSeed({ seed, steps: 100, clients: 4, faults: [], beyondBudget: 'repl-both-drives' });
      assert.match(r.scenario, /replicated/);
      assert.ok(r.violations.length > 0, `seed ${seed}: losing both replicas went unnoticed`);
      assert.ok(!r.violations.some((v) => v.includes('wrong bytes') || v.includes('untyped')), `seed ${seed}: ${r.violations.join('\n')}`);
    }
  });

  it('misdirected writes are caught by checksums: reported as corruption or loss, never as wrong bytes', async () => {
    let loud = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const r = await runSeed({ seed, steps: 100, clients: 4, faults: [], beyondBudget: 'misdirected-write' });
      assert.ok(!r.violations.some((v) => v.includes('wrong bytes') || v.includes('untyped')), `seed ${seed}: ${r.violations.join('\n')}`);
      if (r.violations.length > 0) loud++;
    }
    process.stdout.write(`      ${loud} of 40 runs with a misdirected write reported it\n`);
    assert.ok(loud > 0, 'no misdirected write was ever detected');
  });
});
