/**
 * The seeded workload of `npm run bench` (the peer yardstick, shared/notes/perf-peers.md):
 * data generation, the timed phases, and the untimed correctness checks. Every engine runs the
 * exact same sequence through the small Adapter interface below.
 */

export type Awaitable<T> = T | PromiseLike<T>;

/** Same shape as the yardstick's adapter interface. Any method may return a Promise. */
export interface Adapter {
  name: string;
  /** Versions and settings, logged to stderr. */
  info?(): Awaitable<Record<string, unknown>>;
  /** dir: an empty directory owned by the store. */
  open(dir: string, options: { valueSize: number }): Awaitable<Store>;
}

export interface Store {
  begin(): Awaitable<Txn>;
  get(key: string): Awaitable<Uint8Array | undefined>;
  /** Ascending order; returns the count. */
  scan(range: { gte?: string; lt?: string }, visit: (key: string, value: Uint8Array) => void): Awaitable<number>;
  /** Ends whatever read state the store keeps between gets (sop-ts: its open read transaction). Timed with the reads. */
  endReads?(): Awaitable<void>;
  /** Engine counters (sop-ts: syncs), sampled before and after each phase. */
  counters?(): Record<string, number>;
  close(): Awaitable<void>;
}

export interface Txn {
  /** Upsert; the caller never mutates `value`. */
  put(key: string, value: Uint8Array): Awaitable<void>;
  del(key: string): Awaitable<void>;
  /** Atomic AND durable: returns only after the sync. */
  commit(): Awaitable<void>;
}

export interface WorkloadOptions {
  n: number;
  valueSize: number;
  txn: number;
  commits: number;
  seed: number;
  /** Phases to run (insert always runs first). */
  phases: ReadonlySet<Phase>;
  /** Skip the correctness checks (the size sweep only needs rates). */
  checks: boolean;
  /** Stop the insert after this many seconds (whole transactions) and report what was done. */
  insertBudgetS?: number;
}

export const PHASES = ['insert', 'read', 'scan', 'update', 'delete', 'commit'] as const;
export type Phase = (typeof PHASES)[number];

export interface PhaseResult {
  peer: string;
  phase: string;
  n: number;
  ops: number;
  seconds: number;
  ops_per_s: number;
  txns?: number;
  p50_ms?: number;
  p99_ms?: number;
  max_ms?: number;
  dir_bytes?: number;
  /** RSS of the engine's process at the end of the phase, MB. */
  rss_mb?: number;
  fsyncs?: number;
  fsyncs_per_commit?: number;
  [extra: string]: unknown;
}

export interface Hooks {
  /** Called around each timed phase (profiling). */
  beforePhase?(phase: Phase): Awaitable<void>;
  afterPhase?(phase: Phase): Awaitable<void>;
  progress(message: string): void;
  /** Each phase's figures as soon as the phase ends. */
  result?(r: PhaseResult): void;
  dirBytes(): number;
}

// ---------------------------------------------------------------------------------------------
// Data

/** mulberry32: the yardstick's PRNG. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function keyOf(i: number): string {
  return 'k' + String(i).padStart(15, '0');
}

function shuffled(n: number, rand: () => number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

function randomValues(count: number, size: number, rand: () => number): Uint8Array[] {
  const all = new Uint8Array(count * size);
  for (let i = 0; i < all.length; i += 4) {
    const x = (rand() * 4294967296) >>> 0;
    all[i] = x & 0xff;
    if (i + 1 < all.length) all[i + 1] = (x >>> 8) & 0xff;
    if (i + 2 < all.length) all[i + 2] = (x >>> 16) & 0xff;
    if (i + 3 < all.length) all[i + 3] = x >>> 24;
  }
  const out = new Array<Uint8Array>(count);
  for (let i = 0; i < count; i++) out[i] = all.subarray(i * size, (i + 1) * size);
  return out;
}

/** Everything the timed loops use, generated before timing starts. */
export interface Data {
  keys: string[];
  values: Uint8Array[];
  insertOrder: Uint32Array;
  reads: Uint32Array;
  updated: Uint32Array;
  updateValues: Uint8Array[];
  deleted: Uint32Array;
  commitKeys: string[];
  commitValues: Uint8Array[];
}

export function generate(o: Pick<WorkloadOptions, 'n' | 'valueSize' | 'commits' | 'seed'>): Data {
  const rand = mulberry32(o.seed);
  const { n } = o;
  const keys = Array.from({ length: n }, (_, i) => keyOf(i));
  const values = randomValues(n, o.valueSize, rand);
  const insertOrder = shuffled(n, rand);
  const reads = new Uint32Array(n);
  for (let i = 0; i < n; i++) reads[i] = Math.floor(rand() * n);
  const tenth = Math.floor(n / 10);
  const perm = shuffled(n, rand);
  const updated = perm.slice(0, tenth);
  const deleted = perm.slice(tenth, 2 * tenth);
  const updateValues = randomValues(tenth, o.valueSize, rand);
  const commitKeys = Array.from({ length: o.commits }, (_, i) => keyOf(n + i));
  const commitValues = randomValues(o.commits, o.valueSize, rand);
  return { keys, values, insertOrder, reads, updated, updateValues, deleted, commitKeys, commitValues };
}

// ---------------------------------------------------------------------------------------------
// Timing helpers

function isThenable<T>(x: Awaitable<T>): x is PromiseLike<T> {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as PromiseLike<T>).then === 'function';
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function latencyStats(ms: number[]): { p50_ms: number; p99_ms: number; max_ms: number } {
  const s = Float64Array.from(ms).sort();
  return { p50_ms: round(percentile(s, 50), 4), p99_ms: round(percentile(s, 99), 4), max_ms: round(s[s.length - 1] ?? NaN, 4) };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const now = (): number => performance.now();

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) g();
}

class CheckError extends Error {}

function check(ok: boolean, what: string): void {
  if (!ok) throw new CheckError(`correctness check failed: ${what}`);
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Batches of `size` indices taken from `order`, each applied in one durable transaction. */
async function writeBatches(
  store: Store,
  order: Uint32Array,
  size: number,
  op: (tx: Txn, i: number, index: number) => Awaitable<void>,
  control: { deadline?: number; report?: (done: number, elapsedMs: number) => void } = {},
): Promise<number[]> {
  const latencies: number[] = [];
  const started = now();
  const step = Math.max(size, Math.ceil(order.length / 10 / size) * size);
  for (let start = 0; start < order.length; start += size) {
    if (control.deadline !== undefined && now() > control.deadline) break;
    const end = Math.min(order.length, start + size);
    const t0 = now();
    let tx = store.begin();
    if (isThenable(tx)) tx = await tx;
    for (let i = start; i < end; i++) {
      const r = op(tx, i, order[i]!);
      if (isThenable(r)) await r;
    }
    const c = tx.commit();
    if (isThenable(c)) await c;
    const t1 = now();
    latencies.push(t1 - t0);
    if (control.report && end % step === 0 && end < order.length) control.report(end, t1 - started);
  }
  return latencies;
}

// ---------------------------------------------------------------------------------------------
// The workload

export async function runWorkload(adapter: Adapter, dir: string, o: WorkloadOptions, data: Data, hooks: Hooks): Promise<PhaseResult[]> {
  const results: PhaseResult[] = [];
  const { n, txn } = o;
  let store = adapter.open(dir, { valueSize: o.valueSize });
  if (isThenable(store)) store = await store;
  const s = store;
  const counters = () => s.counters?.() ?? {};

  const timed = async (phase: Phase, ops: number, body: () => Promise<number[] | null>, extra: (r: PhaseResult) => Partial<PhaseResult> = () => ({})) => {
    gc();
    await hooks.beforePhase?.(phase);
    const c0 = counters();
    const t0 = now();
    const latencies = await body();
    const seconds = (now() - t0) / 1000;
    const c1 = counters();
    await hooks.afterPhase?.(phase);
    const r: PhaseResult = { peer: adapter.name, phase, n, ops, seconds: round(seconds, 4), ops_per_s: round(ops / seconds, 1) };
    if (latencies) Object.assign(r, { txns: latencies.length }, latencyStats(latencies));
    if ('fsyncs' in c1) {
      r.fsyncs = c1.fsyncs! - (c0.fsyncs ?? 0);
      if (latencies) r.fsyncs_per_commit = round(r.fsyncs / latencies.length, 2);
    }
    for (const k of Object.keys(c1)) if (k !== 'fsyncs') r[`${k}`] = c1[k]! - (c0[k] ?? 0);
    Object.assign(r, extra(r));
    // The engine's process (each engine runs in a child of its own) at the end of the phase: a
    // store that keeps what it no longer needs shows here (journal mode once held every leaf version).
    r.rss_mb = round(process.memoryUsage.rss() / 1e6, 1);
    results.push(r);
    hooks.result?.(r);
    hooks.progress(`${adapter.name} ${phase}: ${fmtRate(r.ops_per_s)} ops/s${r.p50_ms !== undefined ? ` (txn p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms)` : ''}${r.fsyncs_per_commit !== undefined ? `, ${r.fsyncs_per_commit} syncs/commit` : ''}`);
    return r;
  };

  // insert: all N keys, shuffled, in transactions of T
  let inserted = n;
  await timed(
    'insert',
    n,
    async () => {
      const latencies = await writeBatches(s, data.insertOrder, txn, (tx, _i, k) => tx.put(data.keys[k]!, data.values[k]!), {
        deadline: o.insertBudgetS !== undefined ? now() + o.insertBudgetS * 1000 : undefined,
        report: (done, ms) => hooks.progress(`${adapter.name} insert: ${done.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} items, ${fmtRate(done / (ms / 1000))} ops/s so far`),
      });
      inserted = Math.min(n, latencies.length * txn);
      return latencies;
    },
    (r) => ({ dir_bytes: hooks.dirBytes(), ...(inserted < n ? { ops: inserted, ops_per_s: round(inserted / r.seconds, 1), partial: true } : {}) }),
  );
  if (inserted < n) {
    hooks.progress(`${adapter.name} insert: budget of ${o.insertBudgetS} s reached after ${inserted.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} items; later phases skipped`);
    const cl = s.close();
    if (isThenable(cl)) await cl;
    return results;
  }

  // read: N uniform point gets (with replacement)
  if (o.phases.has('read')) {
    let bad = 0;
    await timed('read', n, async () => {
      const { reads, keys } = data;
      for (let i = 0; i < reads.length; i++) {
        let v = s.get(keys[reads[i]!]!);
        if (isThenable(v)) v = await v;
        if (v === undefined || v.length !== o.valueSize) bad++;
      }
      const e = s.endReads?.();
      if (e && isThenable(e)) await e;
      return null;
    });
    if (o.checks) {
      check(bad === 0, `${bad} of ${n} reads missed or had the wrong length`);
      for (let i = 0; i < Math.min(n, 1000); i++) {
        const k = data.reads[i]!;
        let v = s.get(data.keys[k]!);
        if (isThenable(v)) v = await v;
        check(sameBytes(v, data.values[k]!), `value of ${data.keys[k]} differs from what was inserted`);
      }
      const e = s.endReads?.();
      if (e && isThenable(e)) await e;
    }
  }

  // scan: one full ascending scan
  if (o.phases.has('scan')) {
    let prev = '';
    let ordered = true;
    let visited = 0;
    let counted = 0;
    await timed('scan', n, async () => {
      let c = s.scan({}, (key) => {
        if (!(key > prev)) ordered = false;
        prev = key;
        visited++;
      });
      if (isThenable(c)) c = await c;
      counted = c;
      return null;
    });
    if (o.checks) {
      check(ordered, 'scan is not in strictly ascending order');
      check(visited === n && counted === n, `scan visited ${visited} (returned ${counted}), expected ${n}`);
    }
  }

  // update: a random 10% (distinct) get new values, in transactions of T
  const tenth = data.updated.length;
  if (o.phases.has('update') && tenth > 0) {
    const order = Uint32Array.from({ length: tenth }, (_, i) => i);
    await timed('update', tenth, () => writeBatches(s, order, txn, (tx, i) => tx.put(data.keys[data.updated[i]!]!, data.updateValues[i]!)));
    if (o.checks) {
      for (let i = 0; i < Math.min(tenth, 500); i++) {
        let v = s.get(data.keys[data.updated[i]!]!);
        if (isThenable(v)) v = await v;
        check(sameBytes(v, data.updateValues[i]!), `updated key ${data.keys[data.updated[i]!]} does not carry its new value`);
      }
      const e = s.endReads?.();
      if (e && isThenable(e)) await e;
    }
  }

  // delete: a different random 10%, in transactions of T
  if (o.phases.has('delete') && tenth > 0) {
    await timed('delete', tenth, () => writeBatches(s, data.deleted, txn, (tx, _i, k) => tx.del(data.keys[k]!)));
    if (o.checks) {
      for (let i = 0; i < Math.min(tenth, 500); i++) {
        let v = s.get(data.keys[data.deleted[i]!]!);
        if (isThenable(v)) v = await v;
        check(v === undefined, `deleted key ${data.keys[data.deleted[i]!]} is still there`);
      }
      const e = s.endReads?.();
      if (e && isThenable(e)) await e;
    }
  }

  // commit: single-item durable transactions
  if (o.phases.has('commit') && o.commits > 0) {
    const order = Uint32Array.from({ length: o.commits }, (_, i) => i);
    await timed('commit', o.commits, () => writeBatches(s, order, 1, (tx, i) => tx.put(data.commitKeys[i]!, data.commitValues[i]!)));
  }

  // final count: N - N/10 + commits (when every phase ran)
  if (o.checks && PHASES.every((p) => o.phases.has(p))) {
    let c = s.scan({}, () => undefined);
    if (isThenable(c)) c = await c;
    const expected = n - tenth + o.commits;
    check(c === expected, `final count ${c}, expected ${expected}`);
    for (let i = 0; i < Math.min(o.commits, 100); i++) {
      let v = s.get(data.commitKeys[i]!);
      if (isThenable(v)) v = await v;
      check(sameBytes(v, data.commitValues[i]!), `committed key ${data.commitKeys[i]} is missing`);
    }
    const e = s.endReads?.();
    if (e && isThenable(e)) await e;
    hooks.progress(`${adapter.name}: checks passed (final count ${c})`);
  }

  const cl = s.close();
  if (isThenable(cl)) await cl;
  return results;
}

export function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return '–';
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e4) return `${Math.round(x / 1e3)}k`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}
