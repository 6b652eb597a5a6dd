/**
 * Inferring dependency edges: ww / wr / rw from each key's version order, and (optionally)
 * real-time edges, transitively reduced so they stay near-linear in number.
 */
import { DepGraph, RT, RW, WR, WW } from './list-append-graph.js';
import type { AppendRef, HistoryIndex, KeyInfo } from './list-append-history.js';
import type { Op } from './list-append-types.js';
import type { KeyOrder } from './list-append-versions.js';

/** An append that may have committed (a failed op's appends never create edges: they are G1a). */
const live = (w: AppendRef | undefined): w is AppendRef => w !== undefined && w.op.type !== 'fail';

/**
 * The single committed op whose appends to the key no read observed, if exactly one
 * non-failed op has unobserved appends and it is `ok`: its first append then directly
 * follows the last observed version. With several candidates the order is unknown.
 */
function tailWriter(info: KeyInfo, order: readonly number[]): AppendRef | undefined {
  const observed = new Set(order);
  let tail: AppendRef | undefined;
  for (const [v, w] of info.writers) {
    if (observed.has(v) || w.op.type === 'fail') continue;
    if (tail !== undefined && tail.op !== w.op) return undefined;
    tail = w;
  }
  return tail?.op.type === 'ok' ? tail : undefined;
}

/** nd[i]: the first position after i written by a different op (unknown writers differ from all). */
function nextDifferent(ws: readonly (AppendRef | undefined)[]): number[] {
  const nd = new Array<number>(ws.length);
  for (let i = ws.length - 1; i >= 0; i--) {
    const a = ws[i];
    const b = ws[i + 1];
    nd[i] = a !== undefined && b !== undefined && a.op === b.op ? (nd[i + 1] as number) : i + 1;
  }
  return nd;
}

function addWrEdges(g: DepGraph, key: string, info: KeyInfo): void {
  for (const r of info.reads) {
    if (r.value.length === 0) continue;
    const w = info.writers.get(r.value[r.value.length - 1] as number);
    if (live(w)) g.add(w.node, r.node, WR, key);
  }
}

function addWwEdges(g: DepGraph, key: string, ws: readonly (AppendRef | undefined)[], tail: AppendRef | undefined): void {
  for (let i = 1; i < ws.length; i++) {
    const a = ws[i - 1];
    const b = ws[i];
    if (live(a) && live(b)) g.add(a.node, b.node, WW, key);
  }
  const last = ws[ws.length - 1];
  if (tail !== undefined && live(last)) g.add(last.node, tail.node, WW, key);
}

function addRwEdges(g: DepGraph, key: string, info: KeyInfo, ws: readonly (AppendRef | undefined)[], tail: AppendRef | undefined): void {
  const nd = nextDifferent(ws);
  for (const r of info.reads) {
    const n = r.value.length;
    const lastWriter = n === 0 ? undefined : ws[n - 1];
    const j = n === 0 ? 0 : (nd[n - 1] as number);
    // A read ending mid-way through one op's appends overwrites nothing of that op (that is G1b).
    const next = j < ws.length ? ws[j] : tail !== undefined && tail.op !== lastWriter?.op ? tail : undefined;
    if (live(next)) g.add(r.node, next.node, RW, key);
  }
}

/** Adds the key's wr edges, and its ww / rw edges when its version order is known. */
export function addKeyEdges(g: DepGraph, ko: KeyOrder): void {
  addWrEdges(g, ko.key, ko.info);
  if (ko.order === null) return;
  const ws = ko.order.map((v) => ko.info.writers.get(v));
  const tail = tailWriter(ko.info, ko.order);
  addWwEdges(g, ko.key, ws, tail);
  addRwEdges(g, ko.key, ko.info, ws, tail);
}

/** Nodes of `info` ops some committed read observed an append of. */
export function observedInfoOps(index: HistoryIndex): Set<number> {
  const seen = new Set<number>();
  for (const info of index.keys.values()) {
    for (const r of info.reads) {
      for (const v of r.value) {
        const w = info.writers.get(v);
        if (w?.op.type === 'info') seen.add(w.node);
      }
    }
  }
  return seen;
}

interface TimeEvent {
  t: number;
  /** 0 = invoke, 1 = complete: at equal times invocations go first (not "completed before"). */
  kind: 0 | 1;
  node: number;
}

function timeEvents(history: readonly Op[], eligible: (node: number) => boolean): TimeEvent[] {
  const events: TimeEvent[] = [];
  history.forEach((op, node) => {
    if (!eligible(node)) return;
    if (op.invokeTime !== undefined) events.push({ t: op.invokeTime, kind: 0, node });
    // An indeterminate op's completion time says nothing about when it took effect.
    if (op.type === 'ok' && op.completeTime !== undefined) events.push({ t: op.completeTime, kind: 1, node });
  });
  return events.sort((a, b) => a.t - b.t || a.kind - b.kind || a.node - b.node);
}

/**
 * Real-time edges Ti -> Tj (Ti completed before Tj was invoked), only from the "frontier" of
 * latest completions: an op dominated by a later completed op is reached through it.
 */
export function addRealtimeEdges(g: DepGraph, history: readonly Op[], eligible: (node: number) => boolean): void {
  const frontier = new Set<number>();
  const preds = new Map<number, number[]>();
  for (const ev of timeEvents(history, eligible)) {
    if (ev.kind === 0) {
      const p = [...frontier];
      for (const f of p) g.add(f, ev.node, RT);
      preds.set(ev.node, p);
    } else {
      for (const f of preds.get(ev.node) ?? []) frontier.delete(f);
      frontier.add(ev.node);
    }
  }
}
