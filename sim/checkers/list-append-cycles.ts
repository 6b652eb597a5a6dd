/**
 * Finding and classifying dependency cycles. Per strongly connected component, cycles are
 * searched strongest-first: ww only (G0), ww+wr (G1c), exactly one rw (G-single), anything
 * (G2-item); real-time edges, when enabled, may join every stage. Each search is a BFS, so
 * reported cycles are short (shortest through the tried start nodes) and the work is bounded.
 */
import { ALL_KINDS, KIND_NAMES, RT, RW, WR, WW, bfsPath, bit, tarjan } from './list-append-graph.js';
import type { Budget, DepGraph } from './list-append-graph.js';
import { label } from './list-append-types.js';
import type { Anomaly, FindingSink, Op } from './list-append-types.js';

interface Step {
  from: number;
  to: number;
  kind: number;
  key: string | undefined;
}

interface Ctx {
  g: DepGraph;
  history: readonly Op[];
  sink: FindingSink;
  rt: number;
  budget: Budget;
  /** Membership marks for the component being searched (`mark[n] === stamp`). */
  mark: Int32Array;
  stamp: number;
}

/** Start nodes tried per component when looking for a short cycle. */
const STARTS = 8;
/** Edge kinds preferred when labelling a step, weakest anomaly first. */
const PREFERENCE = [WW, WR, RT, RW];

function stepOf(ctx: Ctx, from: number, to: number, allowed: number): Step {
  const e = ctx.g.edge(from, to);
  if (e === undefined) throw new Error(`list-append: no edge ${from} -> ${to}`);
  const kind = PREFERENCE.find((k) => (e.mask & allowed & bit(k)) !== 0) ?? RW;
  return { from, to, kind, key: e.keys[kind] };
}

/** Steps of the cycle nodes[0] -> nodes[1] -> … -> nodes[0]. */
const stepsOf = (ctx: Ctx, nodes: readonly number[], allowed: number): Step[] =>
  nodes.map((n, i) => stepOf(ctx, n, nodes[(i + 1) % nodes.length] as number, allowed));

function classify(steps: readonly Step[]): Anomaly {
  const rw = steps.filter((s) => s.kind === RW).length;
  if (rw === 1) return 'G-single';
  if (rw > 1) return 'G2-item';
  return steps.some((s) => s.kind === WR) ? 'G1c' : 'G0';
}

function report(ctx: Ctx, raw: readonly Step[]): void {
  let first = 0;
  raw.forEach((s, i) => {
    if (s.from < (raw[first] as Step).from) first = i;
  });
  const steps = [...raw.slice(first), ...raw.slice(0, first)];
  const name = (n: number): string => label(ctx.history[n] as Op);
  const arrows = steps.map((s) => ` -${KIND_NAMES[s.kind]}${s.key === undefined ? '' : `(${s.key})`}-> ${name(s.to)}`);
  const ops = steps.map((s) => ctx.history[s.from] as Op);
  ctx.sink.add(classify(steps), ops, `${name((steps[0] as Step).from)}${arrows.join('')}`);
}

/** A shortest cycle through one of the first few nodes of a strongly connected `sub`. */
function shortCycle(ctx: Ctx, sub: readonly number[], succ: (n: number) => number[]): number[] {
  let best = bfsPath(sub[0] as number, sub[0] as number, succ, { steps: Infinity });
  if (best === null) throw new Error('list-append: no cycle in a strongly connected component');
  for (const start of sub.slice(1, STARTS)) {
    if (best.length <= 2) break;
    const c = bfsPath(start, start, succ, ctx.budget, best.length - 1);
    if (c !== null && c.length < best.length) best = c;
  }
  return best;
}

/** Reports one cycle per strongly connected component of the `allowed` subgraph of `nodes`. */
function reportStage(ctx: Ctx, nodes: readonly number[], inComp: (n: number) => boolean, allowed: number): boolean {
  const subs = tarjan(nodes, ctx.history.length, (n) => ctx.g.succ(n, allowed, inComp));
  for (const sub of subs) {
    const stamp = ++ctx.stamp;
    for (const n of sub) ctx.mark[n] = stamp;
    const cycle = shortCycle(ctx, sub, (n) => ctx.g.succ(n, allowed, (m) => ctx.mark[m] === stamp));
    report(ctx, stepsOf(ctx, cycle, allowed));
  }
  return subs.length > 0;
}

/** A shortest cycle with exactly one rw edge: rw a -> b, then a path b ~> a without rw. */
function reportSingle(ctx: Ctx, nodes: readonly number[], inComp: (n: number) => boolean, allowed: number): boolean {
  const succ = (n: number): number[] => ctx.g.succ(n, allowed, inComp);
  let best: Step[] | null = null;
  for (const a of nodes) {
    for (const b of ctx.g.succ(a, bit(RW), inComp)) {
      if (ctx.budget.steps <= 0 || best?.length === 2) break;
      const path = bfsPath(b, a, succ, ctx.budget, best === null ? Infinity : best.length - 2);
      if (path === null) continue;
      const rw: Step = { from: a, to: b, kind: RW, key: ctx.g.edge(a, b)?.keys[RW] };
      best = [rw, ...path.slice(1).map((to, i) => stepOf(ctx, path[i] as number, to, allowed))];
    }
  }
  if (best !== null) report(ctx, best);
  return best !== null;
}

function reportComponent(ctx: Ctx, scc: readonly number[], id: number, comp: Int32Array): void {
  const inComp = (n: number): boolean => comp[n] === id;
  if (reportStage(ctx, scc, inComp, bit(WW) | ctx.rt)) return;
  if (reportStage(ctx, scc, inComp, bit(WW) | bit(WR) | ctx.rt)) return;
  if (reportSingle(ctx, scc, inComp, bit(WW) | bit(WR) | ctx.rt)) return;
  reportStage(ctx, scc, inComp, bit(WW) | bit(WR) | bit(RW) | ctx.rt);
}

/** Finds the graph's strongly connected components and reports the strongest cycle kind in each. */
export function findCycles(g: DepGraph, history: readonly Op[], realtime: boolean, sink: FindingSink): void {
  const size = history.length;
  const sccs = tarjan(g.nodes(), size, (n) => g.succ(n, ALL_KINDS, () => true));
  const comp = new Int32Array(size).fill(-1);
  sccs.forEach((scc, id) => scc.forEach((n) => (comp[n] = id)));
  const ctx: Ctx = { g, history, sink, rt: realtime ? bit(RT) : 0, budget: { steps: 2_000_000 }, mark: new Int32Array(size), stamp: 0 };
  sccs.forEach((scc, id) => reportComponent(ctx, scc, id, comp));
}
