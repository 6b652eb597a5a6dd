/**
 * Trace conformance: ITF traces of spec/commit.qnt replayed against the engine on a
 * deterministic SimDisk machine (spec/conformance/). Every read, commit outcome, crash and
 * recovery must match the model, and after every step the published values and handle
 * versions must equal the model's (spec ACID-1, ACID-2, ACID-3, TX-7, REC-2, COW-3).
 */
import { strict as assert } from 'node:assert';
import { budgets } from '../../spec/budgets.js';
import { type ConformanceReport, conformance, summarize } from '../../spec/conformance/conformance.js';

describe('spec: trace conformance of the engine to spec/commit.qnt', function () {
  this.timeout(900_000);
  const b = budgets();
  let report: ConformanceReport;
  let noVersionCheck: ConformanceReport;
  let publishEarly: ConformanceReport;

  before(async function () {
    this.timeout(900_000);
    [report, noVersionCheck, publishEarly] = await Promise.all([
      conformance({ traces: b.conformanceTraces, steps: b.conformanceSteps, seed: b.seed }),
      conformance({ traces: 25, steps: 60, seed: 3, model: { file: 'commit_buggy_noversioncheck.qnt', main: 'commit_buggy_noversioncheck' } }),
      conformance({ traces: 10, steps: 60, seed: 3, model: { file: 'commit_buggy_publishearly.qnt', main: 'commit_buggy_publishearly' } }),
    ]);
  });

  it(`replays at least ${b.conformanceTraces} traces with no divergence`, () => {
    assert.equal(report.divergences.length, 0, summarize(report));
    assert.ok(report.results.length >= b.conformanceTraces, `only ${report.results.length} traces`);
    assert.ok(report.steps >= report.results.length * 10, `only ${report.steps} steps`);
  });

  it('the traces reach every part of the protocol', () => {
    for (const action of ['begin', 'read', 'write', 'commitLock', 'commitPoint', 'flipCow', 'flipWrite', 'flipSync', 'commitDone', 'commitAck', 'crash', 'recoverRedo', 'recoverDone']) {
      assert.ok((report.actions[action] ?? 0) > 0, `no trace ran ${action}: ${summarize(report)}`);
    }
    assert.ok(report.results.some((r) => r.partialOpens > 0), 'no recovery crashed halfway');
    assert.ok(report.results.reduce((n, r) => n + r.checks, 0) > report.steps / 2, 'too few state comparisons');
  });

  it('the replay tells: traces of a model without the version check diverge (the engine says CONFLICT)', () => {
    assert.ok(noVersionCheck.divergences.some((d) => /commitLock: model expects commit\.afterPrepareLog, engine reached settled \(CONFLICT\)/.test(d)), summarize(noVersionCheck));
  });

  it('the replay tells: traces of a model that publishes sector by sector diverge on published values', () => {
    assert.ok(publishEarly.divergences.some((d) => /flipSync.*published [abc] = \d+, model \d+/.test(d)), summarize(publishEarly));
  });
});
