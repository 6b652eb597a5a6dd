/** Btree.range: bounds, direction, limit, duplicates, and the transaction's own writes. */
import { strict as assert } from 'node:assert';
import { Database, type RangeOptions, realEnv } from '../../src/index.js';
import { TempDirs, collect, expectSopError, freshDb, pad, range, readStore, seedStore } from './helpers.js';

/** What range(options) must yield for sorted `keys` (the reference filter). */
function expected<K>(keys: readonly K[], o: RangeOptions<K>, cmp: (a: K, b: K) => number): K[] {
  let out = keys.filter(
    (k) =>
      (o.gte === undefined || cmp(k, o.gte) >= 0) &&
      (o.gt === undefined || cmp(k, o.gt) > 0) &&
      (o.lte === undefined || cmp(k, o.lte) <= 0) &&
      (o.lt === undefined || cmp(k, o.lt) < 0),
  );
  if (o.reverse) out = [...out].reverse();
  return o.limit === undefined ? out : out.slice(0, o.limit);
}

const numeric = (a: number, b: number) => a - b;

describe('api: range bounds on a unique numeric store (API-3)', () => {
  const dirs = new TempDirs();
  let db: Database;
  const keys = range(50).map((i) => i * 2); // 0, 2, ..., 98
  before(async () => {
    ({ db } = await freshDb(dirs));
    await seedStore(db, 'evens', keys.map((k) => [k, { k }] as const), { slotLength: 3 });
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  const cases: Array<RangeOptions<number>> = [
    {},
    { gte: 10 },
    { gte: 11 },
    { gt: 10 },
    { gt: 11 },
    { lte: 20 },
    { lte: 21 },
    { lt: 20 },
    { lt: 21 },
    { gte: 10, lte: 20 },
    { gt: 10, lt: 20 },
    { gte: 11, lt: 11 },
    { gte: 10, lte: 10 },
    { gt: 10, lte: 10 },
    { gte: 30, lte: 20 },
    { gte: -100 },
    { gt: 98 },
    { lt: 0 },
    { lte: 1000 },
    { gte: 'a' as unknown as number }, // strings sort after every number
    { lt: 'a' as unknown as number },
  ];
  for (const base of cases) {
    for (const reverse of [false, true]) {
      for (const limit of [undefined, 0, 1, 3]) {
        const o: RangeOptions<number> = { ...base, reverse, ...(limit === undefined ? {} : { limit }) };
        it(`range(${JSON.stringify(o)})`, async () => {
          const got = await readStore(db, 'evens', (t) => collect(t, o));
          const want = expected(keys, o, (a, b) => (typeof a === typeof b ? numeric(a, b) : typeof a === 'string' ? 1 : -1));
          assert.deepEqual(got.map(([k]) => k), want);
          assert.ok(got.every(([k, v]) => (v as { k: number }).k === k), 'each key comes with its own value');
        });
      }
    }
  }

  it('a limit larger than the store yields everything', async () => {
    assert.equal((await readStore(db, 'evens', (t) => collect(t, { limit: 1000 }))).length, 50);
  });

  it('both lower bounds together: the stricter one wins (forward)', async () => {
    const got = await readStore(db, 'evens', (t) => collect(t, { gte: 30, gt: 20, lt: 40 }));
    assert.deepEqual(got.map(([k]) => k), [30, 32, 34, 36, 38]);
  });

  it('both upper bounds together: the stricter one wins (reverse)', async () => {
    const got = await readStore(db, 'evens', (t) => collect(t, { lte: 20, lt: 30, gte: 10, reverse: true }));
    assert.deepEqual(got.map(([k]) => k), [20, 18, 16, 14, 12, 10]);
  });

  it('breaking out of a range leaves the transaction usable', async () => {
    await readStore(db, 'evens', async (t) => {
      const seen: number[] = [];
      for await (const [k] of t.range({ gte: 40 })) {
        assert.equal(typeof k, 'number');
        seen.push(k as number);
        if (seen.length === 2) break;
      }
      assert.deepEqual(seen, [40, 42]);
      assert.equal(await t.find(90), true);
      assert.deepEqual((await collect(t, { gt: 90 })).map(([k]) => k), [92, 94, 96, 98]);
    });
  });

  it('two ranges of one store can be consumed one after the other', async () => {
    await readStore(db, 'evens', async (t) => {
      const a = (await collect(t, { lt: 6 })).map(([k]) => k);
      const b = (await collect(t, { gt: 92, reverse: true })).map(([k]) => k);
      assert.deepEqual([a, b], [[0, 2, 4], [98, 96, 94]]);
    });
  });
});

describe('api: range on other stores', () => {
  const dirs = new TempDirs();
  let db: Database;
  before(async () => {
    ({ db } = await freshDb(dirs));
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  for (const valueInNode of [true, false]) {
    it(`non-unique: every duplicate inside the bounds, none outside (valueInNode=${valueInNode})`, async () => {
      const name = `dups-${valueInNode}`;
      const entries = range(60).map((i) => [i % 10, `v${i}`] as const); // keys 0..9, six of each
      await seedStore(db, name, entries, { isUnique: false, slotLength: 4, valueInNode });
      for (const o of [{ gte: 3, lt: 6 }, { gt: 3, lte: 6, reverse: true }, { gte: 9 }, { lte: 0, reverse: true }] as Array<RangeOptions<number>>) {
        const got = await readStore<number, string, Array<[number, string]>>(db, name, (t) => collect(t, o));
        const sortedKeys = entries.map(([k]) => k).sort(numeric);
        assert.deepEqual(got.map(([k]) => k), expected(sortedKeys, o, numeric), JSON.stringify(o));
        for (const [k, v] of got) assert.equal(Number(v.slice(1)) % 10, k, `value ${v} belongs to key ${k}`);
        const values = got.map(([, v]) => v);
        assert.equal(new Set(values).size, values.length, 'no duplicate item yielded twice');
      }
      const limited = await readStore(db, name, (t) => collect(t, { gte: 5, limit: 4 }));
      assert.deepEqual(limited.map(([k]) => k), [5, 5, 5, 5]);
    });
  }

  it('string keys follow UTF-16 code unit order', async () => {
    const words = ['b', 'a', 'ab', 'B', 'é', 'z', '', '😀', '\uffff', 'aa'];
    await seedStore(db, 'words', words.map((w) => [w, w.length] as const), { slotLength: 3 });
    const sorted = [...words].sort(); // JS default sort is UTF-16 code unit order
    assert.deepEqual((await readStore(db, 'words', (t) => collect(t))).map(([k]) => k), sorted);
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    for (const o of [{ gte: 'a', lt: 'b' }, { gt: 'a', lte: 'z', reverse: true }, { gte: '\ud83d' + '\ude00' }] as Array<RangeOptions<string>>) {
      const got = await readStore(db, 'words', (t) => collect(t, o));
      assert.deepEqual(got.map(([k]) => k), expected(sorted, o, cmp), JSON.stringify(o));
    }
  });

  it('range sees the transaction own uncommitted adds and removes', async () => {
    await seedStore(db, 'own', range(10).map((i) => [pad(i), i] as const), { slotLength: 2 });
    const tx = await db.beginTransaction('write');
    const t = await db.openBtree<string, number>(tx, 'own');
    await t.remove(pad(3));
    await t.add(pad(3) + 'x', 33);
    await t.update(pad(4), 44);
    const got = await collect(t, { gte: pad(2), lte: pad(5) });
    assert.deepEqual(got, [[pad(2), 2], [pad(3) + 'x', 33], [pad(4), 44], [pad(5), 5]]);
    await tx.rollback();
    const after = await readStore(db, 'own', (r) => collect(r, { gte: pad(2), lte: pad(5) }));
    assert.deepEqual(after, [[pad(2), 2], [pad(3), 3], [pad(4), 4], [pad(5), 5]]);
  });

  it('range of an empty store yields nothing', async () => {
    await seedStore(db, 'emptied', [[1, 1]]);
    await db.transaction('write', async (tx) => (await db.openBtree(tx, 'emptied')).remove(1));
    for (const o of [{}, { reverse: true }, { gte: 0 }, { lt: 5, reverse: true }]) {
      assert.deepEqual(await readStore(db, 'emptied', (t) => collect(t, o)), []);
    }
  });

  it('an invalid limit or bound is INVALID_ARGUMENT', async () => {
    await seedStore(db, 'limits', [[1, 1]]);
    await readStore(db, 'limits', async (t) => {
      await expectSopError(collect(t, { limit: -1 }), 'INVALID_ARGUMENT');
      await expectSopError(collect(t, { limit: NaN }), 'INVALID_ARGUMENT');
      await expectSopError(collect(t, { gte: NaN }), 'INVALID_ARGUMENT');
      await expectSopError(collect(t, { lt: null as unknown as number }), 'INVALID_ARGUMENT');
      await expectSopError(collect(t, { lte: (() => 1) as unknown as number }), 'INVALID_ARGUMENT');
    });
  });
});

describe('api: range({ values: false }) reads keys only (API-3)', () => {
  const dirs = new TempDirs();
  after(() => dirs.cleanup());

  it('separate values are not read: 100 keys of a store whose values are blobs read only its nodes (issue #14: 101 reads before)', async () => {
    const { db } = await freshDb(dirs);
    await seedStore(db, 'sep', range(100).map((i) => [i, { i, pad: 'x'.repeat(100) }] as const), { valueInNode: false, slotLength: 16 });
    const reads: string[] = [];
    const base = realEnv();
    const fs = Object.create(base.fs) as typeof base.fs;
    fs.readFile = (path: string) => (reads.push(path), base.fs.readFile(path));
    const folder = db.folder;
    await db.close();
    const again = await Database.open({ folder, env: { ...base, fs } });
    const blobReads = (): number => reads.filter((p) => p.includes('/blobs/')).length;
    await again.transaction('read', async (tx) => {
      const t = await again.openBtree<number, unknown>(tx, 'sep');
      const entries: Array<[number, unknown]> = [];
      for await (const entry of t.range({ values: false })) entries.push(entry);
      const keysOnly = blobReads(); // the tree's nodes only
      assert.deepEqual(entries.map(([k]) => k), range(100));
      assert.ok(entries.every(([, v]) => v === undefined));
      const withValues: unknown[] = [];
      for await (const [, v] of t.range()) withValues.push(v);
      assert.deepEqual(withValues, range(100).map((i) => ({ i, pad: 'x'.repeat(100) })));
      assert.ok(blobReads() - keysOnly >= 100, `values read ${blobReads() - keysOnly} blobs`);
      assert.ok(keysOnly < 30, `keys only read ${keysOnly} blobs (nodes), not the 100 values`);
    });
    await expectSopError(again.transaction('read', async (tx) => collect(await again.openBtree<number, unknown>(tx, 'sep'), { values: 'no' as never })), 'INVALID_ARGUMENT');
    await again.close();
  });
});
