/**
 * A list-append isolation checker after Jepsen's Elle (Kingsbury & Alvaro, VLDB 2020).
 *
 * Keys hold lists, transactions append values unique per key and read whole lists, so the
 * longest committed read of a key reveals its version order. From it the checker infers
 * ww / wr / rw dependencies (plus real-time ones on request) between committed transactions
 * and reports cycles (G0, G1c, G-single, G2-item), plus aborted reads (G1a), intermediate
 * reads (G1b), internal inconsistency, duplicate appends and incompatible version orders.
 * Pure: no I/O, clocks or randomness; roughly linear in the history size plus graph work.
 */
import { findCycles } from './list-append-cycles.js';
import { addKeyEdges, addRealtimeEdges, observedInfoOps } from './list-append-edges.js';
import { DepGraph, KIND_NAMES, RT } from './list-append-graph.js';
import { checkInternal, indexHistory } from './list-append-history.js';
import { FindingSink } from './list-append-types.js';
import type { CheckOptions, CheckResult, Op } from './list-append-types.js';
import { checkReadAnomalies, versionOrder } from './list-append-versions.js';

export type { Anomaly, CheckOptions, CheckResult, Finding, Micro, Op } from './list-append-types.js';

/** Checks a list-append history (completed ops: `ok`, `fail` or `info`) for isolation anomalies. */
export function checkListAppend(history: Op[], options: CheckOptions = {}): CheckResult {
  const realtime = options.realtime === true;
  const sink = new FindingSink(options.maxFindingsPerAnomaly ?? 10);
  const index = indexHistory(history, sink);
  checkInternal(history, sink);
  const g = new DepGraph();
  for (const [key, info] of index.keys) {
    checkReadAnomalies(key, info, sink);
    addKeyEdges(g, versionOrder(key, info, sink));
  }
  if (realtime) {
    const observed = observedInfoOps(index);
    addRealtimeEdges(g, history, (n) => history[n]?.type === 'ok' || observed.has(n));
  }
  findCycles(g, history, realtime, sink);
  const edges: Record<string, number> = {};
  KIND_NAMES.forEach((name, kind) => {
    if (kind !== RT || realtime) edges[name] = g.counts[kind] ?? 0;
  });
  return {
    valid: !sink.found,
    findings: sink.findings,
    stats: { ops: history.length, committed: history.filter((op) => op.type === 'ok').length, keys: index.keys.size, edges },
  };
}
