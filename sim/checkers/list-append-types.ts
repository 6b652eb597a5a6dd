/**
 * Types of the list-append checker (a port of the idea of Jepsen's Elle list-append checker:
 * Kingsbury & Alvaro, "Elle: Inferring Isolation Anomalies from Experimental Observations",
 * VLDB 2020). Keys hold lists; transactions append unique integers and read whole lists.
 */

/** One micro-operation of a transaction: append a value to a key, or read the key's whole list. */
export type Micro = { f: 'append'; key: string; value: number } | { f: 'r'; key: string; value: number[] | null };

/**
 * One completed transaction. `ok` = committed (reads filled in), `fail` = definitely not
 * committed, `info` = indeterminate (may or may not have committed; its reads are unknown).
 */
export interface Op {
  process: number;
  index: number;
  type: 'ok' | 'fail' | 'info';
  txn: Micro[];
  invokeTime?: number;
  completeTime?: number;
}

export type Anomaly =
  | 'G0'
  | 'G1a'
  | 'G1b'
  | 'G1c'
  | 'G-single'
  | 'G2-item'
  | 'internal'
  | 'duplicate-append'
  | 'incompatible-order';

/** One anomaly: the ops involved and a human-readable explanation (a cycle for G0/G1c/G-single/G2-item). */
export interface Finding {
  anomaly: Anomaly;
  ops: Op[];
  explanation: string;
}

export interface CheckResult {
  valid: boolean;
  findings: Finding[];
  stats: { ops: number; committed: number; keys: number; edges: Record<string, number> };
}

export interface CheckOptions {
  /** Add real-time edges (Ti completed before Tj was invoked): checks strict serializability. */
  realtime?: boolean;
  /** Findings kept per anomaly kind (validity still accounts for all). Default 10. */
  maxFindingsPerAnomaly?: number;
}

/** Collects findings, keeping at most `max` per anomaly kind. */
export class FindingSink {
  private readonly counts = new Map<Anomaly, number>();
  readonly findings: Finding[] = [];
  found = false;

  constructor(private readonly max: number) {}

  add(anomaly: Anomaly, ops: Op[], explanation: string): void {
    this.found = true;
    const n = this.counts.get(anomaly) ?? 0;
    this.counts.set(anomaly, n + 1);
    if (n < this.max) this.findings.push({ anomaly, ops, explanation });
  }
}

/** The name of a transaction in explanations. */
export const label = (op: Op): string => `T${op.index}`;

/** Renders a list for explanations, eliding the middle of long lists. */
export function showList(list: readonly number[]): string {
  if (list.length <= 12) return `[${list.join(',')}]`;
  return `[${list.slice(0, 5).join(',')},…(${list.length - 10} more)…,${list.slice(-5).join(',')}]`;
}
