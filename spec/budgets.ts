/**
 * Budgets of the spec checks: bounded for CI (the whole of tests/spec stays near 3 minutes on
 * 2 cores), raised by SOP_NIGHTLY=1. SOP_SPEC_SEED overrides the seed (default fixed, so CI is
 * reproducible; nightly runs draw one and print it).
 */
export interface Budgets {
  readonly nightly: boolean;
  readonly seed: number;
  /** Random simulation of each correct model. */
  readonly samples: number;
  readonly steps: number;
  /** Budget within which each buggy variant must produce a counterexample. */
  readonly buggySamples: number;
  readonly conformanceTraces: number;
  readonly conformanceSteps: number;
  /** Parallel quint processes. */
  readonly jobs: number;
}

export function budgets(env: NodeJS.ProcessEnv = process.env): Budgets {
  const nightly = env.SOP_NIGHTLY === '1';
  const seed = env.SOP_SPEC_SEED ? Number(env.SOP_SPEC_SEED) : nightly ? Math.floor(Math.random() * 1_000_000) : 20_260_501;
  return nightly
    ? { nightly, seed, samples: 4_000, steps: 80, buggySamples: 5_000, conformanceTraces: 2_000, conformanceSteps: 80, jobs: 2 }
    : { nightly, seed, samples: 200, steps: 60, buggySamples: 2_000, conformanceTraces: 200, conformanceSteps: 60, jobs: 2 };
}
