/**
 * The Quint checks of spec/: unit tests (`quint test`), random simulation of each correct
 * model against its invariants (`quint run --invariants ...`), and non-vacuity: each buggy
 * variant must produce a counterexample naming the invariant it breaks. Shared by
 * `npm run spec` (spec/run.ts) and tests/spec/*.test.ts.
 */
import type { Budgets } from './budgets.js';
import { type QuintResult, quint } from './conformance/quint.js';

export interface Model {
  readonly name: string;
  readonly file: string;
  /** The module instantiating the correct protocol. */
  readonly main: string;
  readonly testFile: string;
  /** Invariant definitions, named after spec/SPEC.md ids (REPL-*, EC-* are proposed). */
  readonly invariants: readonly string[];
}

export interface BuggyVariant {
  readonly file: string;
  readonly model: string;
  readonly bug: string;
  /** A counterexample must violate one of these (and the run must exit non-zero). */
  readonly breaks: readonly string[];
}

export const MODELS: readonly Model[] = [
  {
    name: 'commit',
    file: 'commit.qnt',
    main: 'commit_ok',
    testFile: 'commit_test.qnt',
    invariants: ['ACID_1', 'ACID_2', 'ACID_3', 'TX_7', 'COW_3', 'COW_4', 'REC_2', 'REC_4'],
  },
  { name: 'replication', file: 'replication.qnt', main: 'replication_ok', testFile: 'replication_test.qnt', invariants: ['REPL_1', 'REPL_2', 'REPL_3'] },
  { name: 'ec', file: 'ec.qnt', main: 'ec_ok', testFile: 'ec_test.qnt', invariants: ['EC_1', 'EC_2', 'EC_3'] },
  { name: 'pjournal', file: 'pjournal.qnt', main: 'pjournal_ok', testFile: 'pjournal_test.qnt', invariants: ['JNL_5', 'JNL_6', 'JNL_7'] },
];

export const BUGGY: readonly BuggyVariant[] = [
  { file: 'commit_buggy_noversioncheck.qnt', model: 'commit', bug: 'validation skips the item version check', breaks: ['TX_7'] },
  { file: 'commit_buggy_cownotdurable.qnt', model: 'commit', bug: 'sector flipped before its before-image is durable', breaks: ['COW_3'] },
  { file: 'commit_buggy_stalecow.qnt', model: 'commit', bug: 'recovery restores cow images of finished transactions', breaks: ['COW_4'] },
  { file: 'commit_buggy_publishearly.qnt', model: 'commit', bug: 'each sector published as soon as it is synced', breaks: ['ACID_2'] },
  { file: 'replication_buggy_oldtoggler.qnt', model: 'replication', bug: 'failover records the pre-flip active side', breaks: ['REPL_1', 'REPL_2'] },
  { file: 'replication_buggy_nofence.qnt', model: 'replication', bug: 'commits skip the epoch check', breaks: ['REPL_1', 'REPL_3'] },
  { file: 'replication_buggy_ffskip.qnt', model: 'replication', bug: 'fast-forward skips a delta', breaks: ['REPL_3'] },
  { file: 'ec_buggy_nochecksum.qnt', model: 'ec', bug: 'decoder uses shards whose MD5 fails', breaks: ['EC_1'] },
  { file: 'ec_buggy_norollback.qnt', model: 'ec', bug: 'write with more than P failed shards commits', breaks: ['EC_2'] },
  { file: 'ec_buggy_repairmissing.qnt', model: 'ec', bug: 'repair keeps bad shards', breaks: ['EC_3'] },
  { file: 'pjournal_buggy_noversionfilter.qnt', model: 'pjournal', bug: 'replay applies records older than the sector', breaks: ['JNL_5'] },
  { file: 'pjournal_buggy_releaseearly.qnt', model: 'pjournal', bug: "a dead process's locks expire before its replay", breaks: ['JNL_5', 'JNL_7'] },
  { file: 'pjournal_buggy_replayunsynced.qnt', model: 'pjournal', bug: 'replay applies a journal it did not sync', breaks: ['JNL_6'] },
];

export function modelNamed(name: string): Model {
  const model = MODELS.find((m) => m.name === name);
  if (!model) throw new Error(`no model ${name}`);
  return model;
}

export interface CheckResult {
  readonly label: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly run: QuintResult;
  /** Invariants a `quint run` reported as violated (its ❌ lines). */
  readonly violated: string[];
}

const out = (r: QuintResult): string => `${r.stdout}\n${r.stderr}`;

/** Invariant names quint prints after a violation found with `--invariants`. */
export function violatedInvariants(text: string): string[] {
  return [...text.matchAll(/❌\s+([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

/** `N passing` and failures of `quint test`. */
export function testCounts(text: string): { passing: number; failing: number } {
  const passing = Number(/(\d+) passing/.exec(text)?.[1] ?? 0);
  const failing = Number(/(\d+) failed/.exec(text)?.[1] ?? 0);
  return { passing, failing };
}

export async function quintTest(m: Model, b: Budgets): Promise<CheckResult> {
  const run = await quint(['test', `spec/${m.testFile}`, '--backend', 'typescript', '--seed', String(b.seed), '--max-samples', '1']);
  const { passing, failing } = testCounts(out(run));
  const ok = run.code === 0 && passing > 0 && failing === 0;
  return { label: `quint test ${m.testFile}`, ok, detail: `${passing} passing, ${failing} failed (${(run.ms / 1000).toFixed(1)} s)`, run, violated: [] };
}

export function simulateArgs(file: string, main: string | null, invariants: readonly string[], samples: number, steps: number, seed: number): string[] {
  return [
    'run', `spec/${file}`, ...(main ? ['--main', main] : []), '--backend', 'typescript',
    '--max-samples', String(samples), '--max-steps', String(steps), '--seed', String(seed),
    '--invariants', ...invariants, '--verbosity', '2',
  ];
}

/** Random simulation of a correct model: no invariant may be violated. */
export async function simulate(m: Model, b: Budgets): Promise<CheckResult> {
  const run = await quint(simulateArgs(m.file, m.main, m.invariants, b.samples, b.steps, b.seed));
  const text = out(run);
  const violated = violatedInvariants(text);
  const ok = run.code === 0 && /No violation found/.test(text) && violated.length === 0;
  const stats = /\(([\d.]+ms) at ([\d.]+ traces\/second)\)/.exec(text);
  return {
    label: `quint run ${m.main}`,
    ok,
    detail: ok
      ? `${b.samples} samples x ${b.steps} steps, ${m.invariants.length} invariants hold (${stats ? `${stats[1]}, ${stats[2]}` : `${run.ms} ms`})`
      : `violated: ${violated.join(', ') || '?'}\n${text.slice(-3000)}`,
    run,
    violated,
  };
}

/** Non-vacuity: the buggy variant must fail with a counterexample for one of `breaks`. */
export async function checkBuggy(v: BuggyVariant, b: Budgets): Promise<CheckResult> {
  const m = modelNamed(v.model);
  const run = await quint(simulateArgs(v.file, null, m.invariants, b.buggySamples, b.steps, b.seed));
  const text = out(run);
  const violated = violatedInvariants(text);
  const ok = run.code !== 0 && /Invariant violated/.test(text) && violated.some((name) => v.breaks.includes(name));
  return {
    label: `non-vacuity ${v.file}`,
    ok,
    detail: ok
      ? `counterexample: ${violated.join(', ')} violated (${v.bug}; exit ${run.code}, ${(run.ms / 1000).toFixed(1)} s)`
      : `expected a violation of ${v.breaks.join(' or ')}, got exit ${run.code}, violated [${violated.join(', ')}]\n${text.slice(-3000)}`,
    run,
    violated,
  };
}
