import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { checkListAppend } from '../../sim/checkers/list-append.js';
import type { Anomaly, CheckResult, Micro, Op } from '../../sim/checkers/list-append.js';
import { addRealtimeEdges } from '../../sim/checkers/list-append-edges.js';
import { ALL_KINDS, DepGraph } from '../../sim/checkers/list-append-graph.js';

const a = (key: string, value: number): Micro => ({ f: 'append', key, value });
const r = (key: string, value: number[] | null): Micro => ({ f: 'r', key, value });
const op = (index: number, txn: Micro[], type: Op['type'] = 'ok', times?: [number, number]): Op => ({
  process: index,
  index,
  type,
  txn,
  ...(times === undefined ? {} : { invokeTime: times[0], completeTime: times[1] }),
});

const kinds = (res: CheckResult): Anomaly[] => [...new Set(res.findings.map((f) => f.anomaly))].sort();

function expectOnly(history: Op[], anomaly: Anomaly, options = {}): CheckResult {
  const res = checkListAppend(history, options);
  assert.equal(res.valid, false);
  assert.deepEqual(kinds(res), [anomaly], JSON.stringify(res.findings, null, 1));
  return res;
}

describe('checkListAppend: hand-written anomalies', () => {
  it('G0: write cycle', () => {
    const res = expectOnly(
      [op(1, [a('x', 1), a('y', 1)]), op(2, [a('x', 2), a('y', 2)]), op(3, [r('x', [1, 2]), r('y', [2, 1])])],
      'G0',
    );
    const f = res.findings[0];
    assert.equal(f?.explanation, 'T1 -ww(x)-> T2 -ww(y)-> T1');
    assert.deepEqual(
      f.ops.map((o) => o.index),
      [1, 2],
    );
  });

  it('G0 through an indeterminate (info) transaction whose writes were observed', () => {
    const res = expectOnly(
      [op(1, [a('x', 1), a('y', 1)]), op(2, [a('x', 2), a('y', 2)], 'info'), op(3, [r('x', [1, 2]), r('y', [2, 1])])],
      'G0',
    );
    assert.equal(res.findings[0]?.explanation, 'T1 -ww(x)-> T2 -ww(y)-> T1');
  });

  it('G1a: aborted read', () => {
    const res = expectOnly([op(1, [a('x', 1)], 'fail'), op(2, [r('x', [1])])], 'G1a');
    assert.match(res.findings[0]?.explanation ?? '', /T2 read x=\[1\].*failed T1/);
  });

  it('G1b: intermediate read', () => {
    const res = expectOnly([op(1, [a('x', 1), a('x', 2)]), op(2, [r('x', [1])])], 'G1b');
    assert.match(res.findings[0]?.explanation ?? '', /T2 read x=\[1\] ending in 1, an intermediate append of T1/);
  });

  it('G1c: cyclic information flow', () => {
    const res = expectOnly([op(1, [a('x', 1), r('y', [1])]), op(2, [a('y', 1), r('x', [1])])], 'G1c');
    assert.equal(res.findings[0]?.explanation, 'T1 -wr(x)-> T2 -wr(y)-> T1');
  });

  it('G-single: read skew', () => {
    const res = expectOnly([op(1, [a('x', 1), a('y', 1)]), op(2, [r('x', []), r('y', [1])]), op(3, [r('x', [1])])], 'G-single');
    assert.equal(res.findings[0]?.explanation, 'T1 -wr(y)-> T2 -rw(x)-> T1');
  });

  it('G-single inferred from an unobserved append of a single committed writer', () => {
    const res = expectOnly([op(1, [a('x', 1), a('y', 1)]), op(2, [r('x', []), r('y', [1])])], 'G-single');
    assert.equal(res.findings[0]?.explanation, 'T1 -wr(y)-> T2 -rw(x)-> T1');
  });

  it('G2-item: write skew', () => {
    const res = expectOnly(
      [
        op(1, [r('x', []), r('y', []), a('x', 1)]),
        op(2, [r('x', []), r('y', []), a('y', 1)]),
        op(3, [r('x', [1]), r('y', [1])]),
      ],
      'G2-item',
    );
    assert.equal(res.findings[0]?.explanation, 'T1 -rw(y)-> T2 -rw(x)-> T1');
  });

  it('internal: a read missing the transaction\'s own append', () => {
    const res = expectOnly([op(1, [a('x', 1), r('x', [])])], 'internal');
    assert.match(res.findings[0]?.explanation ?? '', /T1 read x=\[\] which does not end with its own appends \[1\]/);
  });

  it('internal: two reads of a key that disagree', () => {
    const res = expectOnly([op(1, [a('x', 5)]), op(2, [r('x', [5]), a('x', 6), r('x', [5])])], 'internal');
    assert.match(res.findings[0]?.explanation ?? '', /T2 read x=\[5\] but its prior ops imply x=\[5,6\]/);
  });

  it('duplicate-append', () => {
    const res = expectOnly([op(1, [a('x', 1)]), op(2, [a('x', 1)])], 'duplicate-append');
    assert.match(res.findings[0]?.explanation ?? '', /T1 and T2 both appended 1 to x/);
  });

  it('incompatible-order', () => {
    const res = expectOnly([op(1, [a('x', 1)]), op(2, [a('x', 2)]), op(3, [r('x', [1])]), op(4, [r('x', [2])])], 'incompatible-order');
    assert.equal(res.findings[0]?.ops.length, 2);
  });

  it('realtime: a stale read is only anomalous with realtime edges', () => {
    const history = [op(1, [a('x', 1)], 'ok', [0, 1]), op(2, [r('x', [])], 'ok', [2, 3]), op(3, [r('x', [1])], 'ok', [4, 5])];
    assert.equal(checkListAppend(history).valid, true);
    const res = expectOnly(history, 'G-single', { realtime: true });
    assert.equal(res.findings[0]?.explanation, 'T1 -rt-> T2 -rw(x)-> T1');
    assert.ok((res.stats.edges.rt ?? 0) >= 2);
  });

  it('reports the strongest cycle kind of a component (G0 over a longer G2 cycle)', () => {
    // T1/T2 form a ww cycle on x/y; T3 also reads stale values of both.
    const res = checkListAppend([
      op(1, [a('x', 1), a('y', 1)]),
      op(2, [a('x', 2), a('y', 2)]),
      op(3, [r('x', [1, 2]), r('y', [2, 1])]),
      op(4, [r('x', [1]), r('y', [2])]),
    ]);
    assert.ok(kinds(res).includes('G0'));
    assert.ok(!kinds(res).includes('G2-item'));
  });

  it('caps findings per anomaly but stays invalid', () => {
    const history = [op(0, [a('x', 0)], 'fail'), ...Array.from({ length: 20 }, (_, i) => op(i + 1, [r('x', [0])]))];
    const res = checkListAppend(history, { maxFindingsPerAnomaly: 3 });
    assert.equal(res.valid, false);
    assert.equal(res.findings.length, 3);
  });

  it('finds a 20,000-transaction G1c cycle without overflowing the stack', () => {
    const n = 20_000;
    const history = Array.from({ length: n }, (_, i) => op(i, [a(`k${i}`, 1), r(`k${(i + n - 1) % n}`, [1])]));
    const res = expectOnly(history, 'G1c');
    assert.equal(res.findings[0]?.ops.length, n);
    assert.ok(res.findings[0]?.explanation.startsWith('T0 -wr(k0)-> T1 -wr(k1)-> T2'));
  });

  it('reports stats', () => {
    const res = checkListAppend([op(1, [a('x', 1)]), op(2, [r('x', [1]), a('y', 1)]), op(3, [a('z', 1)], 'fail')]);
    assert.equal(res.valid, true);
    assert.deepEqual(res.stats, { ops: 3, committed: 2, keys: 3, edges: { ww: 0, wr: 1, rw: 0 } });
  });
});

// ---------------------------------------------------------------------------------------------
// Serial model: random transactions run one at a time against a Map<string, number[]>.

interface TxnSpec {
  outcome: Op['type'];
  applied: boolean;
  micros: { read: boolean; key: string }[];
}

const KEYS = ['x', 'y', 'z', 'w'];

const txnArb: fc.Arbitrary<TxnSpec> = fc.record({
  outcome: fc.constantFrom<Op['type']>('ok', 'ok', 'ok', 'ok', 'fail', 'info'),
  applied: fc.boolean(),
  micros: fc.array(fc.record({ read: fc.boolean(), key: fc.constantFrom(...KEYS) }), { minLength: 1, maxLength: 5 }),
});

/** Runs specs serially; `times(i)` gives op i's invoke/complete times (or none). */
function runSerial(specs: TxnSpec[], times?: (i: number) => [number, number]): Op[] {
  const state = new Map<string, number[]>();
  const next = new Map<string, number>();
  return specs.map((spec, i) => {
    const commits = spec.outcome === 'ok' || (spec.outcome === 'info' && spec.applied);
    const working = new Map([...state].map(([k, v]) => [k, v.slice()]));
    const txn: Micro[] = spec.micros.map(({ read, key }) => {
      const list = working.get(key) ?? [];
      if (read) return r(key, spec.outcome === 'ok' ? list.slice() : null);
      const value = next.get(key) ?? 0;
      next.set(key, value + 1);
      working.set(key, [...list, value]);
      return a(key, value);
    });
    if (commits) for (const [k, v] of working) state.set(k, v);
    const o = op(i, txn, spec.outcome, times?.(i));
    if (spec.outcome === 'info') delete o.completeTime;
    return o;
  });
}

function shuffle<T>(items: T[], keys: number[]): T[] {
  return items
    .map((item, i) => ({ item, k: keys[i % Math.max(1, keys.length)] ?? 0, i }))
    .sort((p, q) => p.k - q.k || p.i - q.i)
    .map((p) => p.item);
}

const assertValid = (res: CheckResult): void => assert.equal(res.valid, true, JSON.stringify(res.findings, null, 1));

describe('checkListAppend: serial histories are valid', () => {
  it('≥ 200 random serial histories with ok, fail and info ops', () => {
    fc.assert(
      fc.property(fc.array(txnArb, { minLength: 1, maxLength: 60 }), (specs) => {
        const history = runSerial(specs, (i) => [2 * i, 2 * i + 1]);
        assertValid(checkListAppend(history));
        assertValid(checkListAppend(history, { realtime: true }));
      }),
      { numRuns: 300, seed: 20_240_611 },
    );
  });

  it('shuffled history order (same transactions) stays valid', () => {
    fc.assert(
      fc.property(fc.array(txnArb, { minLength: 1, maxLength: 60 }), fc.array(fc.nat(1000), { minLength: 1 }), (specs, keys) => {
        const history = shuffle(runSerial(specs, (i) => [2 * i, 2 * i + 1]), keys);
        assertValid(checkListAppend(history));
        assertValid(checkListAppend(history, { realtime: true }));
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('overlapping invocations consistent with the serial order stay valid under realtime', () => {
    const jitter = fc.array(fc.tuple(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 25 })), { minLength: 1 });
    fc.assert(
      fc.property(fc.array(txnArb, { minLength: 1, maxLength: 60 }), jitter, (specs, jit) => {
        const times = (i: number): [number, number] => {
          const [u, v] = jit[i % jit.length] ?? [0, 0];
          return [10 * i - u, 10 * i + v];
        };
        assertValid(checkListAppend(runSerial(specs, times), { realtime: true }));
      }),
      { numRuns: 200, seed: 99 },
    );
  });

  it('dropping the first element of a read is caught when another non-empty read exists', () => {
    fc.assert(
      fc.property(fc.array(txnArb, { minLength: 1, maxLength: 60 }), (specs) => {
        const history = runSerial(specs);
        const reads = new Map<string, { value: number[] | null }[]>();
        for (const o of history)
          for (const m of o.txn)
            if (o.type === 'ok' && m.f === 'r' && m.value !== null && m.value.length > 0) reads.set(m.key, [...(reads.get(m.key) ?? []), m]);
        const victim = [...reads.values()].find((rs) => rs.length >= 2 && rs.some((m) => (m.value?.length ?? 0) >= 2));
        fc.pre(victim !== undefined);
        const m = victim!.find((x) => (x.value?.length ?? 0) >= 2)!;
        m.value = m.value!.slice(1);
        assert.equal(checkListAppend(history).valid, false);
      }),
      { numRuns: 100, seed: 3 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Small stale-snapshot histories against a brute-force serializability oracle.

interface StaleSpec {
  snapshot: number;
  micros: { read: boolean; key: string }[];
}

const staleArb: fc.Arbitrary<StaleSpec[]> = fc.array(
  fc.record({
    snapshot: fc.nat(6),
    micros: fc.array(fc.record({ read: fc.boolean(), key: fc.constantFrom('x', 'y', 'z') }), { minLength: 1, maxLength: 4 }),
  }),
  { minLength: 1, maxLength: 5 },
);

/** Commits in index order; each txn reads a possibly stale committed state plus its own appends. */
function runStale(specs: StaleSpec[]): Op[] {
  const states: Map<string, number[]>[] = [new Map()];
  let next = 0;
  const history = specs.map((spec, i) => {
    const seen = new Map(states[Math.min(spec.snapshot, i)]);
    const latest = new Map(states[i]);
    const txn = spec.micros.map(({ read, key }): Micro => {
      if (read) return r(key, (seen.get(key) ?? []).slice());
      const value = next++;
      seen.set(key, [...(seen.get(key) ?? []), value]);
      latest.set(key, [...(latest.get(key) ?? []), value]);
      return a(key, value);
    });
    states.push(latest);
    return op(i, txn);
  });
  const final = states[states.length - 1] as Map<string, number[]>;
  return [...history, op(specs.length, ['x', 'y', 'z'].map((k) => r(k, (final.get(k) ?? []).slice())))];
}

/** Runs `t` on `state`, or null if one of its reads disagrees. */
function replay(t: Op, state: Map<string, number[]>): Map<string, number[]> | null {
  const s = new Map(state);
  for (const m of t.txn) {
    const list = s.get(m.key) ?? [];
    if (m.f === 'append') s.set(m.key, [...list, m.value]);
    else if (m.value === null || m.value.length !== list.length || m.value.some((v, i) => v !== list[i])) return null;
  }
  return s;
}

function serializable(txns: Op[], state: Map<string, number[]> = new Map()): boolean {
  return (
    txns.length === 0 ||
    txns.some((t, i) => {
      const next = replay(t, state);
      return next !== null && serializable([...txns.slice(0, i), ...txns.slice(i + 1)], next);
    })
  );
}

describe('checkListAppend: brute-force oracle', () => {
  it('with every append observed, valid ⇔ serializable; only rw cycles or forked orders', () => {
    let invalid = 0;
    fc.assert(
      fc.property(staleArb, (specs) => {
        const history = runStale(specs);
        const res = checkListAppend(history);
        assert.equal(res.valid, serializable(history), JSON.stringify({ history, findings: res.findings }));
        // Stale reads give rw cycles; a stale read plus the reader's own append gives a forked order.
        for (const f of res.findings) assert.ok(['G-single', 'G2-item', 'incompatible-order'].includes(f.anomaly), f.anomaly);
        if (!res.valid) invalid++;
        // Without the final reader some appends go unobserved: no false positives still.
        const partial = history.slice(0, -1);
        if (serializable(partial)) assertValid(checkListAppend(partial));
      }),
      { numRuns: 400, seed: 11 },
    );
    assert.ok(invalid > 20, `only ${invalid} anomalous histories generated`);
  });

  it('realtime edges (frontier-reduced) preserve exactly the "completed before invoked" order', () => {
    const interval = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 10 }), fc.boolean());
    fc.assert(
      fc.property(fc.array(interval, { minLength: 1, maxLength: 25 }), (iv) => {
        const history = iv.map(([t, d, info], i): Op => ({
          ...op(i, [], info ? 'info' : 'ok', [t, t + d]),
          ...(info ? { completeTime: undefined } : {}),
        }));
        const g = new DepGraph();
        addRealtimeEdges(g, history, () => true);
        const reach = (from: number): Set<number> => {
          const seen = new Set<number>();
          const stack = [from];
          while (stack.length > 0) for (const m of g.succ(stack.pop() as number, ALL_KINDS, () => true)) if (!seen.has(m)) seen.add(m), stack.push(m);
          return seen;
        };
        history.forEach((oi, i) => {
          const reached = reach(i);
          history.forEach((oj, j) => {
            const before = oi.type === 'ok' && (oi.completeTime as number) < (oj.invokeTime as number);
            assert.equal(reached.has(j), before, `${i} -> ${j}`);
          });
        });
      }),
      { numRuns: 200, seed: 5 },
    );
  });
});

describe('checkListAppend: performance sanity', () => {
  it('checks a 5,000-op serial history', () => {
    let seed = 12_345;
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return Math.floor(seed / 65_536) % n;
    };
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const specs: TxnSpec[] = Array.from({ length: 5_000 }, () => ({
      outcome: rand(10) === 0 ? 'fail' : rand(20) === 0 ? 'info' : 'ok',
      applied: rand(2) === 0,
      micros: Array.from({ length: 1 + rand(4) }, () => ({ read: rand(2) === 0, key: keys[rand(keys.length)] as string })),
    }));
    const history = runSerial(specs, (i) => [2 * i, 2 * i + 1]);
    const res = checkListAppend(history, { realtime: true });
    assertValid(res);
    assert.equal(res.stats.ops, 5_000);
  });
});
