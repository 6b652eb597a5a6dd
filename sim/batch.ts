import { CRASH_POINTS } from '../src/ports/points.js';
import { CLUSTER_FAULT_KINDS, DRIVE_FAULT_KINDS, FAULT_KINDS, type FaultKind } from './options.js';
import { type RunResult, runSeed } from './run.js';

export interface BatchOptions {
  readonly seeds: readonly number[];
  readonly steps: number;
  readonly clients: number;
  readonly nodes?: number;
  readonly faults: readonly FaultKind[];
  readonly traceEvents?: number;
  /** Stop starting new seeds after this many wall-clock ms (the whole list runs when absent). */
  readonly budgetMs?: number;
  readonly now: () => number;
  readonly onResult?: (result: RunResult, done: number) => void;
  /** Forces journal mode on (true) or off (false) for every standalone seed. */
  readonly journal?: boolean;
  /** Forces erasure-coded blobs on (true) or off (false) for every standalone seed. */
  readonly erasureCoding?: boolean;
}

export interface BatchSummary {
  readonly runs: number;
  readonly transactions: { ok: number; fail: number; info: number };
  readonly faults: Record<string, number>;
  readonly crashPoints: Record<string, number>;
  readonly checks: number;
  readonly failed: RunResult[];
  readonly elapsedMs: number;
  /** Fault kinds and crash points never injected in this batch (erasure-coding and replication kinds: standalone batches only). */
  readonly missingFaults: string[];
  readonly missingPoints: string[];
  /** Every seed run, with its trace hash (a replay of the seed on the same code gives the same hash). */
  readonly seeds: Array<{ seed: number; traceHash: string; scenario: string; violations: number }>;
  /** Clustered runs: virtual ms the survivors took to commit on the keys of a process killed mid-commit (CLU-6). */
  readonly peerDeathMs: number[];
}

/** Runs seeds one after another and aggregates what they injected, hit and found. */
export async function runBatch(options: BatchOptions): Promise<BatchSummary> {
  const started = options.now();
  const summary = {
    runs: 0, transactions: { ok: 0, fail: 0, info: 0 }, faults: {} as Record<string, number>, crashPoints: {} as Record<string, number>, checks: 0, failed: [] as RunResult[],
    seeds: [] as BatchSummary['seeds'], peerDeathMs: [] as number[],
  };
  for (const seed of options.seeds) {
    if (options.budgetMs !== undefined && options.now() - started > options.budgetMs) break;
    const result = await runSeed({ seed, steps: options.steps, clients: options.clients, nodes: options.nodes, faults: options.faults, traceEvents: options.traceEvents, ...(options.journal !== undefined ? { journal: options.journal } : {}), ...(options.erasureCoding !== undefined ? { erasureCoding: options.erasureCoding } : {}) });
    summary.runs++;
    for (const k of ['ok', 'fail', 'info'] as const) summary.transactions[k] += result.transactions[k];
    add(summary.faults, result.faults);
    for (const [reason, n] of Object.entries(result.crashPoints)) {
      if (reason.startsWith('point:')) add(summary.crashPoints, { [reason.slice(6)]: n });
    }
    summary.checks += result.checked.length;
    summary.seeds.push({ seed: result.seed, traceHash: result.traceHash, scenario: result.scenario, violations: result.violations.length });
    summary.peerDeathMs.push(...result.peerDeathMs);
    if (result.violations.length > 0) summary.failed.push(result);
    options.onResult?.(result, summary.runs);
  }
  return {
    ...summary,
    elapsedMs: options.now() - started,
    missingFaults: FAULT_KINDS.filter(
      (k) => options.faults.includes(k) && !summary.faults[k] && !((options.nodes ?? 1) > 1 && DRIVE_FAULT_KINDS.includes(k)) && !((options.nodes ?? 1) === 1 && CLUSTER_FAULT_KINDS.includes(k)),
    ),
    missingPoints: options.faults.includes('crash-point') ? CRASH_POINTS.filter((p) => !summary.crashPoints[p]) : [],
  };
}

function add(target: Record<string, number>, source: Record<string, number>): void {
  for (const [k, v] of Object.entries(source)) target[k] = (target[k] ?? 0) + v;
}
