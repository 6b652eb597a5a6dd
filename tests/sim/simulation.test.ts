/**
 * The simulator as a CI suite (issue: deterministic simulator). Regression seeds, fixed ranges
 * of seeds with every fault kind and crash-point coverage, fresh seeds on every run (standalone
 * and clustered), and determinism of trace hashes.
 * The checkers cite: ACID-1..4, TX-4, TX-5, TX-7, TX-8, TX-10, STRUCT-1..3, BTREE-2, REC-2,
 * COW-3, STORE-1..3, FMT-1, API-1, IDLE-1, REC-5 (liveness after healing), and on the seeds
 * that erasure code their blobs (about one in five standalone seeds) EC-1..EC-3, and on the seeds
 * that replicate their folder onto a second drive folder (another one in five) REPL-1..REPL-5.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CRASH_POINTS } from '../../src/ports/points.js';
import { runBatch } from '../../sim/batch.js';
import { FAULT_KINDS } from '../../sim/options.js';
import { runSeed } from '../../sim/run.js';

const regression = JSON.parse(readFileSync(new URL('../../sim/regression-seeds.json', import.meta.url), 'utf8')) as {
  steps: number;
  clients: number;
  seeds: Array<{ seed: number; found: string; nodes?: number; erasureCoding?: boolean; replication?: boolean; journal?: boolean }>;
};
// CI sizes (the whole suite must stay within its 25 minutes on 2 cores); `npm run stress` and
// the nightly run thousands (SOP_SIM_SEEDS, SOP_SIM_CLUSTER_SEEDS, SOP_SIM_FRESH_*).
const FRESH = Number(process.env.SOP_SIM_SEEDS ?? 120);
const CLUSTER_SEEDS = Number(process.env.SOP_SIM_CLUSTER_SEEDS ?? 40);
/** Fresh seeds every run, beside the fixed ranges (SOP_SIM_FRESH_SEEDS, SOP_SIM_FRESH_CLUSTER_SEEDS). */
const FRESH_SEEDS = Number(process.env.SOP_SIM_FRESH_SEEDS ?? 60);
const FRESH_CLUSTER_SEEDS = Number(process.env.SOP_SIM_FRESH_CLUSTER_SEEDS ?? 20);
/** SOP_SIM_FIRST pins the range (to replay a run); SOP_SIM_FRESH=1 draws fresh seeds, otherwise the ranges are fixed. */
const FIRST = process.env.SOP_SIM_FIRST === undefined ? undefined : Number(process.env.SOP_SIM_FIRST);
const now = (): number => performance.now();

describe('simulator (ACID-1, ACID-3, ACID-4, STRUCT-1, REC-2, COW-3, IDLE-1, REC-5)', function () {
  this.timeout(1_800_000);

  for (const { seed, found, nodes, erasureCoding = false, replication = false, journal = false } of regression.seeds) {
    it(`regression seed ${seed}${nodes ? ` (${nodes} nodes)` : ''}${erasureCoding ? ' (erasure coded)' : ''}${replication ? ' (replicated)' : ''}${journal ? ' (journal)' : ''} passes (once: ${found})`, async () => {
      const clients = nodes ? 6 : regression.clients;
      // Entries from before erasure coding or replication replay without them: the scenario they were found with.
      const r = await runSeed({ seed, steps: regression.steps, clients, nodes, faults: [...FAULT_KINDS], erasureCoding, replication, journal });
      assert.deepEqual(r.violations, [], `seed ${seed}: ${r.violations.join('\n')}`);
    });
  }

  it(`${FRESH} seeds: no violation, every fault kind injected, every crash point hit`, async () => {
    // CI replays a fixed range, so a red CI means a change broke something, not a rare seed
    // found by luck (those go to sim/open-seeds.json); SOP_SIM_FRESH=1 (npm run stress, the
    // nightly) draws fresh ones to find new bugs.
    const base = FIRST ?? (process.env.SOP_SIM_FRESH === '1' ? randomInt(0, 2 ** 31 - FRESH) : 1);
    const seeds = Array.from({ length: FRESH }, (_, i) => base + i);
    const s = await runBatch({ seeds, steps: 100, clients: 4, faults: [...FAULT_KINDS], now });
    const perMinute = (s.runs * 60_000) / s.elapsedMs;
    process.stdout.write(
      `      seeds ${base}..${base + FRESH - 1}: ${s.runs} runs, ${perMinute.toFixed(0)} seeds/min, ` +
        `tx ok/fail/info ${s.transactions.ok}/${s.transactions.fail}/${s.transactions.info}, ${s.checks} checks\n` +
        `      faults ${JSON.stringify(s.faults)}\n      crash points ${JSON.stringify(s.crashPoints)}\n`,
    );
    const failures = s.failed.map((r) => `seed ${r.seed} (${r.scenario}): ${r.violations.slice(0, 3).join(' | ')}\n  replay: npx sop sim --seed ${r.seed}`);
    assert.deepEqual(failures, []);
    assert.deepEqual(s.missingFaults, [], 'fault kinds never injected');
    assert.deepEqual(s.missingPoints, [], 'crash points never hit');
    assert.equal(Object.keys(s.crashPoints).length, CRASH_POINTS.length);
  });

  it(`clustered (CLU-1..CLU-5): ${CLUSTER_SEEDS} seeds of 3 nodes sharing one disk and one Redis, no violation`, async () => {
    // A fixed range in CI: fresh clustered seeds still fail about once in a thousand (an open
    // bug, see sim/open-seeds.json); SOP_SIM_FRESH=1 (npm run stress, the nightly) draws fresh ones.
    const base = FIRST ?? (process.env.SOP_SIM_FRESH === '1' ? randomInt(0, 2 ** 31 - CLUSTER_SEEDS) : 1);
    const seeds = Array.from({ length: CLUSTER_SEEDS }, (_, i) => base + i);
    const s = await runBatch({ seeds, steps: 100, clients: 6, nodes: 3, faults: [...FAULT_KINDS], now });
    process.stdout.write(
      `      seeds ${base}..${base + CLUSTER_SEEDS - 1}: ${((s.runs * 60_000) / s.elapsedMs).toFixed(0)} seeds/min, ` +
        `tx ok/fail/info ${s.transactions.ok}/${s.transactions.fail}/${s.transactions.info}, faults ${JSON.stringify(s.faults)}\n`,
    );
    const failures = s.failed.map((r) => `seed ${r.seed} (${r.scenario}): ${r.violations.slice(0, 3).join(' | ')}\n  replay: npx sop sim --seed ${r.seed} --nodes 3 --clients 6`);
    assert.deepEqual(failures, []);
    assert.deepEqual(s.missingFaults, [], 'fault kinds never injected');
  });

  // Fresh seeds beside the fixed ranges (issue #13): a different range on every run, so CI keeps
  // finding what nobody has seen yet. A failure prints the replay command; that seed is a found
  // bug: it goes to sim/open-seeds.json, then to the regression seeds with its fix.
  for (const [label, count, nodes, clients] of [['standalone', FRESH_SEEDS, 1, 4], ['clustered (3 nodes)', FRESH_CLUSTER_SEEDS, 3, 6]] as const) {
    it(`${count} fresh ${label} seeds: no violation`, async () => {
      const base = randomInt(1_000_000, 2 ** 31 - count);
      const seeds = Array.from({ length: count }, (_, i) => base + i);
      const s = await runBatch({ seeds, steps: 100, clients, nodes, faults: [...FAULT_KINDS], now });
      process.stdout.write(`      fresh ${label} seeds ${base}..${base + count - 1}: ${s.runs} runs, tx ok/fail/info ${s.transactions.ok}/${s.transactions.fail}/${s.transactions.info}\n`);
      const replay = nodes > 1 ? ` --nodes ${nodes} --clients ${clients}` : '';
      assert.deepEqual(s.failed.map((r) => `seed ${r.seed} (${r.scenario}): ${r.violations.slice(0, 3).join(' | ')}\n  replay: npx sop sim --seed ${r.seed}${replay}`), []);
    });
  }

  const SAME = Number(process.env.SOP_SIM_SAME_SEEDS ?? 30);
  it(`the same seed gives the same trace hash (${SAME} seeds, and 5 clustered ones, run twice)`, async () => {
    const mismatches: number[] = [];
    for (let seed = 1; seed <= SAME; seed++) {
      const options = { seed, steps: 30, clients: 3, faults: [...FAULT_KINDS] };
      const [a, b] = [await runSeed(options), await runSeed(options)];
      assert.ok(a.events > 100, `seed ${seed} ran only ${a.events} events`);
      if (a.traceHash !== b.traceHash) mismatches.push(seed);
    }
    for (let seed = 1; seed <= 5; seed++) {
      const options = { seed, steps: 30, clients: 4, nodes: 3, faults: [...FAULT_KINDS] };
      const [a, b] = [await runSeed(options), await runSeed(options)];
      if (a.traceHash !== b.traceHash) mismatches.push(-seed); // clustered: negative
    }
    assert.deepEqual(mismatches, []);
  });

  it('different seeds explore different schedules', async () => {
    const hashes = new Set<string>();
    for (let seed = 1; seed <= 10; seed++) hashes.add((await runSeed({ seed, steps: 20, clients: 2, faults: [] })).traceHash);
    assert.equal(hashes.size, 10);
  });
});
