/**
 * Model-based test: random command sequences run against the B-tree and a sorted-array oracle,
 * with a full structural check (and a node-leak check) after every command.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import type { SeekMode } from '../../src/btree/btree.js';
import type { Item } from '../../src/btree/node.js';
import { SopError } from '../../src/errors/sop-error.js';
import { makeTree, payload } from './helpers.js';
import type { Fixture } from './helpers.js';

type Op =
  | { t: 'add'; key: number; seed: number }
  | { t: 'find'; key: number; first: boolean }
  | { t: 'findItem'; pick: number; hit: boolean }
  | { t: 'seek'; key: number; mode: SeekMode }
  | { t: 'first' | 'last' | 'next' | 'previous' | 'remove' | 'commit' }
  | { t: 'replace'; value: number; bad: 'none' | 'id' | 'key' };

interface Mix {
  add: number;
  remove: number;
}

/** Commands over keys 0..keyMax (plus half steps for seeks); weights shape growth or shrinkage. */
function opArb(keyMax: number, mix: Mix): fc.Arbitrary<Op> {
  const key = fc.integer({ min: 0, max: keyMax });
  return fc.oneof(
    { weight: mix.add, arbitrary: fc.record({ t: fc.constant('add' as const), key, seed: fc.nat(999) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('find' as const), key, first: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('findItem' as const), pick: fc.nat(), hit: fc.boolean() }) },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('seek' as const),
        key: fc.oneof(key, key.map((k) => k + 0.5)),
        mode: fc.constantFrom<SeekMode>('ge', 'gt', 'le', 'lt'),
      }),
    },
    { weight: 4, arbitrary: fc.constantFrom<Op>({ t: 'first' }, { t: 'last' }) },
    { weight: 6, arbitrary: fc.constantFrom<Op>({ t: 'next' }, { t: 'previous' }) },
    { weight: mix.remove, arbitrary: fc.constant<Op>({ t: 'remove' }) },
    { weight: 1, arbitrary: fc.constant<Op>({ t: 'commit' }) },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('replace' as const),
        value: fc.nat(),
        bad: fc.constantFrom('none' as const, 'none' as const, 'id' as const, 'key' as const),
      }),
    },
  );
}

/** A grow phase, a mixed phase and a shrink phase (each possibly empty): up to 300 commands. */
const OPS: fc.Arbitrary<Op[]> = fc.constantFrom(6, 24, 400).chain((keyMax) =>
  fc
    .tuple(
      fc.array(opArb(keyMax, { add: 100, remove: 2 }), { maxLength: 150, size: 'max' }),
      fc.array(opArb(keyMax, { add: 10, remove: 10 }), { maxLength: 80, size: 'max' }),
      fc.array(opArb(keyMax, { add: 2, remove: 30 }), { maxLength: 100, size: 'max' }),
    )
    .map(([grow, mixed, shrink]) => [...grow, ...mixed, ...shrink]),
);

/** Sorted-array oracle with a cursor index. */
class Oracle {
  items: Item[] = [];
  cursor: number | undefined;

  constructor(readonly unique: boolean) {}

  /** First index whose key is >= key (strict: > key). */
  keyBound(key: number, strict: boolean): number {
    const i = this.items.findIndex((it) => (strict ? (it.key as number) > key : (it.key as number) >= key));
    return i < 0 ? this.items.length : i;
  }

  entryBound(key: number, id: string): number {
    const i = this.items.findIndex((it) => (it.key as number) > key || (it.key === key && it.id >= id));
    return i < 0 ? this.items.length : i;
  }

  at(i: number): boolean {
    this.cursor = i >= 0 && i < this.items.length ? i : undefined;
    return this.cursor !== undefined;
  }

  current(): Item | undefined {
    return this.cursor === undefined ? undefined : this.items[this.cursor];
  }
}

interface Run {
  fx: Fixture;
  oracle: Oracle;
  nextId: number;
}

async function expectInvalid(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (e: unknown) => SopError.is(e, 'INVALID_ARGUMENT'));
}

async function apply(run: Run, op: Op): Promise<void> {
  const { tree, access } = run.fx;
  const o = run.oracle;
  switch (op.t) {
    case 'add': {
      const id = `${String(op.seed).padStart(3, '0')}-${run.nextId++}`;
      const it: Item = { key: op.key, id, version: 1, valueBytes: payload(op.seed) };
      const lo = o.keyBound(op.key, false);
      if (o.unique && o.items[lo]?.key === op.key) {
        assert.equal(await tree.add(it), false);
        o.at(lo);
        return;
      }
      assert.equal(await tree.add(it), true);
      const at = o.entryBound(op.key, id);
      o.items.splice(at, 0, it);
      o.at(at);
      return;
    }
    case 'find': {
      const lo = o.keyBound(op.key, false);
      o.at(lo);
      assert.equal(await tree.find(op.key, op.first), o.items[lo]?.key === op.key);
      return;
    }
    case 'findItem': {
      const target = o.items.length > 0 ? o.items[op.pick % o.items.length]! : undefined;
      const key = target === undefined ? op.pick % 25 : op.hit ? (target.key as number) : (target.key as number) + 1;
      const id = target?.id ?? 'none';
      const i = o.items.findIndex((it) => it.key === key && it.id === id);
      o.cursor = i < 0 ? undefined : i;
      assert.equal(await tree.findItem(key, id), i >= 0);
      return;
    }
    case 'seek': {
      const upper = op.mode === 'gt' || op.mode === 'le';
      const b = o.keyBound(op.key, upper);
      const expected = o.at(op.mode === 'ge' || op.mode === 'gt' ? b : b - 1);
      assert.equal(await tree.seek(op.key, op.mode), expected);
      return;
    }
    case 'first':
      assert.equal(await tree.first(), o.at(0));
      return;
    case 'last':
      assert.equal(await tree.last(), o.at(o.items.length - 1));
      return;
    case 'next':
    case 'previous': {
      const expected = o.cursor !== undefined && o.at(o.cursor + (op.t === 'next' ? 1 : -1));
      assert.equal(op.t === 'next' ? await tree.next() : await tree.previous(), expected);
      return;
    }
    case 'remove': {
      if (o.cursor === undefined) return expectInvalid(tree.removeCurrent());
      o.items.splice(o.cursor, 1);
      o.at(o.cursor);
      await tree.removeCurrent();
      return;
    }
    case 'replace':
      return replace(run, op);
    case 'commit':
      access.commit();
      return;
  }
}

async function replace(run: Run, op: Extract<Op, { t: 'replace' }>): Promise<void> {
  const { tree } = run.fx;
  const cur = run.oracle.current();
  if (cur === undefined) return expectInvalid(tree.replaceCurrent({ key: 0, id: 'x', version: 1 }));
  const next: Item = {
    key: op.bad === 'key' ? (cur.key as number) + 0.25 : cur.key,
    id: op.bad === 'id' ? `${cur.id}x` : cur.id,
    version: cur.version + 1,
    valueBytes: payload(op.value),
  };
  if (op.bad !== 'none') return expectInvalid(tree.replaceCurrent(next));
  await tree.replaceCurrent(next);
  run.oracle.items[run.oracle.cursor!] = next;
}

async function verify(run: Run): Promise<void> {
  const { tree, access } = run.fx;
  assert.deepEqual(tree.current(), run.oracle.current());
  const { count, nodes } = await tree.check();
  assert.equal(count, run.oracle.items.length);
  assert.equal(access.liveIds().size, nodes, 'every live node is reachable (no leaked nodes)');
}

const SLOTS = [2, 3, 4, 5, 8, 16, 64];

describe('BTree model test (BTREE-1, BTREE-4)', function () {
  this.timeout(600_000);

  it('agrees with a sorted-array oracle', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SLOTS),
        fc.boolean(),
        fc.boolean(),
        OPS,
        async (slotLength, unique, strict, ops) => {
          const run: Run = { fx: makeTree(slotLength, unique, strict), oracle: new Oracle(unique), nextId: 0 };
          for (const op of ops) {
            await apply(run, op);
            await verify(run);
          }
          assert.deepEqual(
            (await walkAll(run)).map((it) => it.id),
            run.oracle.items.map((it) => it.id),
          );
        },
      ),
      { numRuns: 400 },
    );
  });
});

async function walkAll(run: Run): Promise<Item[]> {
  const { tree } = run.fx;
  const out: Item[] = [];
  for (let ok = await tree.first(); ok; ok = await tree.next()) out.push(tree.current()!);
  return out;
}
