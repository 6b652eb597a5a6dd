import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { SystemClock } from '../src/adapters/system-clock.js';
import { type BatchSummary, runBatch } from './batch.js';
import { FAULT_KINDS, type FaultKind } from './options.js';
import type { RunResult } from './run.js';

export interface SimArgs {
  seeds?: number;
  seed?: number;
  /** First seed of a fixed range (with --seeds): reproducible batches for scripts. */
  first?: number;
  steps: number;
  nodes: number;
  clients: number;
  faults?: string;
  json: boolean;
  seconds?: number;
  requireAll: boolean;
  /** Events of a failing run's trace to print (default 40). */
  trace?: number;
  /** Forces journal mode (spec JNL-1..JNL-4) on every standalone seed. */
  journal?: boolean;
  /** Forces erasure-coded blobs (spec EC-1..EC-3) on every standalone seed. */
  erasureCoding?: boolean;
}

/**
 * `sop sim`: runs seeds through the deterministic simulator and prints what was injected,
 * hit and checked. A violation prints a one-line replay command and the failing run's trace.
 */
export async function simCommand(args: SimArgs): Promise<number> {
  if (!(args.nodes >= 1 && args.nodes <= 8)) throw new Error('--nodes: 1 (standalone) to 8 (clustered, sharing one disk and one Redis)');
  const faults = parseFaults(args.faults);
  const count = args.seeds ?? (args.seconds ? 1_000_000 : 100);
  const seeds = args.seed !== undefined ? [args.seed] : args.first !== undefined ? Array.from({ length: count }, (_, i) => args.first! + i) : freshSeeds(count);
  const clock = new SystemClock();
  const err = (s: string): void => void process.stderr.write(s);
  const summary = await runBatch({
    seeds, steps: args.steps, clients: args.clients, nodes: args.nodes, faults, traceEvents: Math.max(200, args.trace ?? 0),
    ...(args.journal ? { journal: true } : {}),
    ...(args.erasureCoding ? { erasureCoding: true } : {}),
    budgetMs: args.seconds !== undefined ? args.seconds * 1000 : undefined,
    now: () => clock.monotonic(),
    onResult: (r, done) => {
      if (args.json) return;
      const line = `${bar(done, args.seconds ? undefined : seeds.length)} seed ${r.seed} ${r.violations.length ? 'VIOLATION' : 'ok'}`;
      if (process.stderr.isTTY) err(`\r${line}   `);
      else if (done % 25 === 0 || r.violations.length > 0) err(`${line}\n`);
    },
  });
  if (!args.json && process.stderr.isTTY) err('\n');
  const out = args.json ? JSON.stringify(summary, null, 1) : report(summary, args, faults);
  process.stdout.write(`${out}\n`);
  const incomplete = args.requireAll && (summary.missingFaults.length > 0 || summary.missingPoints.length > 0);
  return summary.failed.length > 0 || incomplete ? 1 : 0;
}

function parseFaults(text: string | undefined): FaultKind[] {
  if (text === undefined || text === 'all') return [...FAULT_KINDS];
  if (text === 'none') return [];
  const kinds = text.split(',').map((k) => k.trim());
  const unknown = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new Error(`unknown fault kinds: ${unknown.join(', ')} (known: ${FAULT_KINDS.join(', ')})`);
  return kinds as FaultKind[];
}

function freshSeeds(count: number): number[] {
  const base = randomInt(0, 2 ** 31 - count);
  return Array.from({ length: count }, (_, i) => base + i);
}

function bar(done: number, total: number | undefined): string {
  if (total === undefined) return `[${done} seeds]`;
  const width = 30;
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

function report(s: BatchSummary, args: SimArgs, faults: FaultKind[]): string {
  const lines = [
    `sop sim: ${s.runs} seeds in ${(s.elapsedMs / 1000).toFixed(1)} s (${((s.runs * 60_000) / s.elapsedMs).toFixed(0)} seeds/min), ${args.steps} steps, ${args.clients} clients, ${args.nodes} node${args.nodes > 1 ? 's (clustered)' : ''}`,
    `  transactions      ok ${s.transactions.ok}, fail ${s.transactions.fail}, info ${s.transactions.info}`,
    `  faults injected   ${table(s.faults)}`,
    `  crash points hit  ${table(s.crashPoints)}`,
    `  checks run        ${s.checks}`,
    `  violations        ${s.failed.length === 0 ? 'none' : `${s.failed.length} seeds`}`,
  ];
  if (s.runs === 1) lines.push(`  trace hash        ${s.seeds[0]!.traceHash} (the same seed on the same code replays it exactly)`);
  if (s.peerDeathMs.length > 0) {
    const sorted = [...s.peerDeathMs].sort((a, b) => a - b);
    const at = (q: number): string => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(0);
    lines.push(`  process killed    ${sorted.length} mid-commit: the others committed on its keys after p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms (virtual; CLU-6)`);
  }
  if (s.missingFaults.length) lines.push(`  never injected    ${s.missingFaults.join(', ')}`);
  if (s.missingPoints.length) lines.push(`  points never hit  ${s.missingPoints.join(', ')}`);
  // concat, not push(...spread): a long --trace overflows the call stack's argument limit
  const failures = s.failed.slice(0, 3).flatMap((r) => ['', ...failure(r, args, faults)]);
  return lines.concat(failures).join('\n');
}

function table(counts: Record<string, number>): string {
  return Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
}

function failure(r: RunResult, args: SimArgs, faults: FaultKind[]): string[] {
  const faultArg = faults.length === FAULT_KINDS.length ? '' : ` --faults ${faults.join(',') || 'none'}`;
  return [
    `VIOLATION in seed ${r.seed} (${r.scenario})`,
    ...r.violations.slice(0, 10).map((v) => `  - ${v}`),
    `  replay: npx sop sim --seed ${r.seed} --steps ${args.steps} --clients ${args.clients}${args.nodes > 1 ? ` --nodes ${args.nodes}` : ''}${args.journal ? ' --journal' : ''}${args.erasureCoding ? ' --erasure-coding' : ''}${faultArg}   # commit ${commit()}`,
    `  trace (last ${Math.min(r.trace.length, args.trace ?? 40)} events; --trace N prints more):`,
    ...r.trace.slice(-(args.trace ?? 40)).map((t) => `    ${t}`),
  ];
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}
