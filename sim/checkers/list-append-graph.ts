/**
 * The transaction dependency graph (nodes are positions in the history array) with an
 * iterative Tarjan SCC and BFS shortest-path helpers.
 */

export const WW = 0;
export const WR = 1;
export const RW = 2;
export const RT = 3;
export const KIND_NAMES = ['ww', 'wr', 'rw', 'rt'] as const;
export const bit = (kind: number): number => 1 << kind;
export const ALL_KINDS = bit(WW) | bit(WR) | bit(RW) | bit(RT);

/** All dependency kinds from one node to another, with the first key that induced each. */
export interface Edge {
  mask: number;
  keys: (string | undefined)[];
}

export class DepGraph {
  readonly adj = new Map<number, Map<number, Edge>>();
  readonly counts = [0, 0, 0, 0];

  add(from: number, to: number, kind: number, key?: string): void {
    if (from === to) return;
    let out = this.adj.get(from);
    if (out === undefined) {
      out = new Map();
      this.adj.set(from, out);
    }
    let e = out.get(to);
    if (e === undefined) {
      e = { mask: 0, keys: [] };
      out.set(to, e);
    }
    if ((e.mask & bit(kind)) !== 0) return;
    e.mask |= bit(kind);
    e.keys[kind] = key;
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  edge(from: number, to: number): Edge | undefined {
    return this.adj.get(from)?.get(to);
  }

  /** Successors of `n` over edges having one of the `allowed` kinds, restricted to `keep`. */
  succ(n: number, allowed: number, keep: (m: number) => boolean): number[] {
    const out: number[] = [];
    const edges = this.adj.get(n);
    if (edges === undefined) return out;
    for (const [m, e] of edges) if ((e.mask & allowed) !== 0 && keep(m)) out.push(m);
    return out;
  }

  /** Every node with an edge, ascending. */
  nodes(): number[] {
    const all = new Set<number>();
    for (const [from, out] of this.adj) {
      all.add(from);
      for (const to of out.keys()) all.add(to);
    }
    return [...all].sort((a, b) => a - b);
  }
}

interface Frame {
  node: number;
  succs: number[];
  i: number;
}

/**
 * Strongly connected components with more than one node (Tarjan, iterative so deep graphs
 * cannot overflow the stack). `size` bounds node ids.
 */
export function tarjan(nodes: readonly number[], size: number, succ: (n: number) => number[]): number[][] {
  const index = new Int32Array(size).fill(-1);
  const low = new Int32Array(size);
  const onStack = new Uint8Array(size);
  const stack: number[] = [];
  const sccs: number[][] = [];
  let next = 0;
  const work: Frame[] = [];
  const visit = (n: number): void => {
    index[n] = low[n] = next++;
    stack.push(n);
    onStack[n] = 1;
    work.push({ node: n, succs: succ(n), i: 0 });
  };
  const popScc = (root: number): void => {
    const scc: number[] = [];
    let m: number;
    do {
      m = stack.pop() as number;
      onStack[m] = 0;
      scc.push(m);
    } while (m !== root);
    if (scc.length > 1) sccs.push(scc.sort((a, b) => a - b));
  };
  for (const root of nodes) {
    if (index[root] !== -1) continue;
    visit(root);
    while (work.length > 0) {
      const fr = work[work.length - 1] as Frame;
      if (fr.i < fr.succs.length) {
        const m = fr.succs[fr.i++] as number;
        if (index[m] === -1) visit(m);
        else if (onStack[m] === 1) low[fr.node] = Math.min(low[fr.node] as number, index[m] as number);
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low[parent.node] = Math.min(low[parent.node] as number, low[fr.node] as number);
      if (low[fr.node] === index[fr.node]) popScc(fr.node);
    }
  }
  return sccs;
}

/** A work budget shared by searches, so pathological graphs cannot blow up. */
export interface Budget {
  steps: number;
}

/**
 * Shortest path from `from` to `to` (BFS over `succ`), as the node list [from, …, to], or null.
 * `from === to` finds a shortest cycle through that node. `maxLen` bounds the path's edge count.
 */
export function bfsPath(
  from: number,
  to: number,
  succ: (n: number) => number[],
  budget: Budget,
  maxLen = Infinity,
): number[] | null {
  const parent = new Map<number, number>([[from, from]]);
  const depth = new Map<number, number>([[from, 0]]);
  const queue = [from];
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head] as number;
    const d = depth.get(u) as number;
    if (d + 1 > maxLen) return null;
    for (const v of succ(u)) {
      if (--budget.steps < 0) return null;
      if (v === to) return unwind(parent, u, from).concat(to === from ? [] : [to]);
      if (parent.has(v)) continue;
      parent.set(v, u);
      depth.set(v, d + 1);
      queue.push(v);
    }
  }
  return null;
}

function unwind(parent: Map<number, number>, last: number, from: number): number[] {
  const path = [last];
  for (let n = last; n !== from; ) {
    n = parent.get(n) as number;
    path.push(n);
  }
  return path.reverse();
}
