/**
 * Generates ITF traces of spec/commit.qnt with `quint run --mbt --out-itf` and replays each
 * against the engine (./replay.ts). Used by `npm run spec:conformance` (./main.ts) and by
 * tests/spec/conformance.test.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTrace } from './itf.js';
import { type QuintResult, SPEC_DIR, pool, quint } from './quint.js';
import { type ReplayResult, replayTrace } from './replay.js';

export interface ConformanceOptions {
  /** Traces to generate and replay. */
  readonly traces: number;
  /** Maximum model steps per trace. */
  readonly steps: number;
  /** Quint's simulation seed (the replay machines are seeded from it too). */
  readonly seed: number;
  /** Keep the trace files here instead of a temporary folder that is deleted. */
  readonly keepDir?: string;
  /**
   * Another model to draw traces from (default spec/commit.qnt, module commit_ok). A buggy
   * variant's traces must diverge from the engine: that shows the replay can tell.
   */
  readonly model?: { readonly file: string; readonly main: string };
}

export interface ConformanceReport {
  readonly generations: QuintResult[];
  readonly results: ReplayResult[];
  readonly divergences: string[];
  readonly steps: number;
  readonly actions: Record<string, number>;
  readonly generateMs: number;
  readonly replayMs: number;
}

/** Quint keeps every trace of a run in memory (about 4 MB per 90-step trace): generate in batches. */
export const BATCH = 100;

export function generateArgs(o: ConformanceOptions, dir: string, batch: number, count: number): string[] {
  return [
    'run', join(SPEC_DIR, o.model?.file ?? 'commit.qnt'), '--main', o.model?.main ?? 'commit_ok', '--backend', 'typescript', '--mbt',
    '--max-samples', String(count), '--n-traces', String(count), '--max-steps', String(o.steps),
    '--seed', String(o.seed + batch * 7919), '--invariant', o.model ? 'true' : 'ALL', '--verbosity', '1',
    '--out-itf', join(dir, `b${batch}_trace_{seq}.itf.json`),
  ];
}

export async function conformance(o: ConformanceOptions): Promise<ConformanceReport> {
  const dir = o.keepDir ?? mkdtempSync(join(tmpdir(), 'sop-itf-'));
  mkdirSync(dir, { recursive: true });
  const batches = Array.from({ length: Math.ceil(o.traces / BATCH) }, (_, i) => ({ batch: i, count: Math.min(BATCH, o.traces - i * BATCH) }));
  const generations: QuintResult[] = [];
  const results: ReplayResult[] = [];
  let replayMs = 0;
  try {
    // Two at a time: one batch replays (in this process) while the next one is generated.
    await pool(batches, 2, async ({ batch, count }) => {
      const generation = await quint(generateArgs(o, dir, batch, count));
      generations.push(generation);
      if (generation.code !== 0) throw new Error(`trace generation failed (exit ${generation.code}):\n${generation.stdout.slice(-5000)}\n${generation.stderr.slice(-5000)}`);
      const prefix = `b${batch}_`;
      const files = readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.itf.json')).sort((x, y) => seqOf(x) - seqOf(y));
      const started = Date.now();
      for (const file of files) {
        results.push(await replayTrace(readTrace(join(dir, file)), file, o.seed * 1000 + batch * BATCH + seqOf(file)));
        if (!o.keepDir) rmSync(join(dir, file), { force: true });
      }
      replayMs += Date.now() - started;
    });
    const actions: Record<string, number> = {};
    for (const r of results) for (const [k, n] of Object.entries(r.actions)) actions[k] = (actions[k] ?? 0) + n;
    return {
      generations,
      results,
      divergences: results.flatMap((r) => (r.divergence ? [r.divergence] : [])),
      steps: results.reduce((n, r) => n + r.steps, 0),
      actions,
      generateMs: generations.reduce((n, g) => n + g.ms, 0),
      replayMs,
    };
  } finally {
    if (!o.keepDir) rmSync(dir, { recursive: true, force: true });
  }
}

function seqOf(file: string): number {
  return Number(/_(\d+)\.itf\.json$/.exec(file)?.[1] ?? 0);
}

export function summarize(r: ConformanceReport): string {
  const opens = r.results.reduce((n, x) => n + x.opens, 0);
  const partial = r.results.reduce((n, x) => n + x.partialOpens, 0);
  const checks = r.results.reduce((n, x) => n + x.checks, 0);
  const top = Object.entries(r.actions).sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k}=${n}`).join(' ');
  return [
    `conformance: ${r.results.length} traces, ${r.steps} steps replayed, ${checks} state comparisons, ${opens} recoveries, ${partial} crashed recoveries`,
    `conformance: generation ${(r.generateMs / 1000).toFixed(1)} s in ${r.generations.length} quint run(s), replay ${(r.replayMs / 1000).toFixed(1)} s`,
    `conformance: actions ${top}`,
    `conformance: ${r.divergences.length} divergence(s)`,
    ...r.divergences.map((d) => `  DIVERGENCE ${d}`),
  ].join('\n');
}
