/** Key types, natural order, composite keys (keyOrder), user comparers, and key copies. */
import { strict as assert } from 'node:assert';
import { type Database } from '../../src/index.js';
import { TempDirs, collect, expectSopError, freshDb, keysOf, readStore, reopen, seedStore, valueAt } from './helpers.js';

describe('api: key types and natural order', () => {
  const dirs = new TempDirs();
  let db: Database;
  before(async () => {
    ({ db } = await freshDb(dirs));
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  /** Already in natural order: boolean < number|bigint < string < Date < bytes < array < object. */
  const ordered: unknown[] = [
    false,
    true,
    -Infinity,
    -(2n ** 64n),
    -1.5,
    0,
    1n,
    1.5,
    2 ** 53,
    2n ** 53n + 1n,
    Infinity,
    '',
    'A',
    'a',
    'ab',
    'é',
    '😀',
    '\uffff',
    new Date(-1),
    new Date(0),
    new Date(8.64e15),
    new Uint8Array([]),
    new Uint8Array([0]),
    new Uint8Array([0, 0]),
    new Uint8Array([1]),
    [],
    [1],
    [1, 'a'],
    [1, 'b'],
    [2],
    [[0]],
    {},
    { a: 1 },
    { a: 2 },
    { a: 1, b: 0 },
    { b: 0 },
  ];

  for (const valueInNode of [true, false]) {
    it(`every key type sorts in the documented order and round-trips exactly (valueInNode=${valueInNode})`, async () => {
      const name = `mixed-${valueInNode}`;
      const scrambled = ordered.map((_k, i) => ordered[(i * 7) % ordered.length]); // 7 is prime to 36
      await seedStore(db, name, scrambled.map((k, i) => [k, i] as const), { slotLength: 3, valueInNode });
      assert.deepStrictEqual(await readStore(db, name, keysOf), ordered);
      db = await reopen(db);
      assert.deepStrictEqual(await readStore(db, name, keysOf), ordered);
      await readStore(db, name, async (t) => {
        for (const k of ordered) assert.equal(await t.find(k), true, `find ${String(k)}`);
      });
    });
  }

  it('numbers and bigints with the same value are the same key; so are 0 and -0', async () => {
    await seedStore(db, 'numeric', [[1, 'number one'], [0, 'zero']]);
    await db.transaction('write', async (tx) => {
      const t = await db.openBtree<number | bigint, string>(tx, 'numeric');
      assert.equal(await t.add(1n, 'bigint one'), false);
      assert.equal(await t.add(-0, 'minus zero'), false);
      assert.equal(await valueAt(t, 1n), 'number one');
      assert.equal(await valueAt(t, -0), 'zero');
      assert.equal(await t.add(2n ** 53n + 1n, 'exact'), true);
      assert.equal(await t.find(2 ** 53), false, '2**53 differs from 2n**53n + 1n');
      assert.equal(t.getCurrentKey(), 2n ** 53n + 1n);
    });
  });

  it('Dates, byte arrays and objects are found by value, not identity', async () => {
    await seedStore<unknown, string>(db, 'byvalue', [[new Date(5), 'date'], [new Uint8Array([1, 2]), 'bytes'], [{ x: [1, { y: 2 }] }, 'obj']]);
    await readStore(db, 'byvalue', async (t) => {
      assert.equal(await valueAt(t, new Date(5)), 'date');
      assert.equal(await valueAt(t, new Uint8Array([1, 2])), 'bytes');
      assert.equal(await valueAt(t, { x: [1, { y: 2 }] }), 'obj');
      assert.equal(await t.find(new Uint8Array([1, 2, 0])), false);
    });
  });

  it('object keys compare by sorted property names, so property order does not matter', async () => {
    await seedStore(db, 'objects', [[{ b: 1, a: 2 }, 'first']]);
    await db.transaction('write', async (tx) => {
      const t = await db.openBtree<object, string>(tx, 'objects');
      assert.equal(await t.add({ a: 2, b: 1 }, 'second'), false);
      assert.equal(await valueAt(t, { a: 2, b: 1 }), 'first');
    });
  });

  it('the stored key is a copy: changing the caller object after add changes nothing', async () => {
    const key = [5, { tag: 'x' }];
    await db.transaction('write', async (tx) => {
      const t = await db.newBtree<unknown[], string>(tx, 'keycopy', { slotLength: 2 });
      await t.add(key, 'five');
      await t.add([6], 'six');
      (key[1] as { tag: string }).tag = 'changed';
      key[0] = 7;
      assert.deepEqual(t.getCurrentKey(), [6]);
      assert.equal(await valueAt(t, [5, { tag: 'x' }]), 'five');
    });
    assert.deepEqual(await readStore(db, 'keycopy', keysOf), [[5, { tag: 'x' }], [6]]);
  });

  it('a key object returned by getCurrentKey is not shared with the tree', async () => {
    await seedStore(db, 'keyleak', [[[1], 'a'], [[2], 'b'], [[3], 'c']], { slotLength: 2 });
    await readStore<number[], string, void>(db, 'keyleak', async (t) => {
      assert.equal(await t.find([2]), true);
      const k = t.getCurrentKey()!;
      k[0] = 100; // a caller changing what it was given must not reorder the stored tree
    });
    assert.deepEqual(await readStore(db, 'keyleak', keysOf), [[1], [2], [3]]);
    assert.equal(await readStore(db, 'keyleak', (t) => t.find([2])), true);
  });
});

describe('api: composite keys (keyOrder)', () => {
  const dirs = new TempDirs();
  let db: Database;
  type Person = { last: string; age: number; first?: string };
  const keyOrder = [{ field: 'last' }, { field: 'age', order: 'desc' as const }];
  before(async () => {
    ({ db } = await freshDb(dirs));
    const people: Person[] = [
      { last: 'smith', age: 30, first: 'ann' },
      { last: 'doe', age: 20, first: 'jon' },
      { last: 'smith', age: 50, first: 'bob' },
      { last: 'doe', age: 40, first: 'eve' },
      { last: 'adams', age: 99, first: 'zed' },
      { last: 'smith', age: 40, first: 'cat' },
    ];
    await seedStore(db, 'people', people.map((p) => [p, p.first!] as const), { keyOrder, slotLength: 2 });
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  const expectedOrder = ['zed', 'eve', 'jon', 'bob', 'cat', 'ann'];

  it('orders by last ascending, then age descending', async () => {
    const values = (await readStore(db, 'people', (t) => collect(t))).map(([, v]) => v);
    assert.deepEqual(values, expectedOrder);
  });

  it('fields outside the key order do not take part in comparison or uniqueness', async () => {
    await db.transaction('write', async (tx) => {
      const t = await db.openBtree<Person, string>(tx, 'people');
      assert.equal(await t.add({ last: 'doe', age: 40, first: 'someone else' }, 'dup'), false);
      assert.equal(await valueAt(t, { last: 'doe', age: 40 }), 'eve');
      assert.equal(await t.find({ last: 'smith', age: 45 }), false);
      assert.equal(await t.getCurrentValue(), 'cat', 'after smith/50 comes smith/40 (descending age)');
    });
  });

  it('range bounds use the key order', async () => {
    const got = await readStore<Person, string, Array<[Person, string]>>(db, 'people', (t) => collect(t, { gte: { last: 'smith', age: 45 }, lt: { last: 'smith', age: 30 } }));
    assert.deepEqual(got.map(([, v]) => v), ['cat']);
    const rev = await readStore<Person, string, Array<[Person, string]>>(db, 'people', (t) => collect(t, { lte: { last: 'doe', age: 0 }, reverse: true }));
    assert.deepEqual(rev.map(([, v]) => v), ['jon', 'eve', 'zed']);
  });

  it('a key lacking a key-order field, or not an object, is INVALID_ARGUMENT', async () => {
    await db.transaction('write', async (tx) => {
      const t = await db.openBtree<unknown, string>(tx, 'people');
      await expectSopError(t.add({ last: 'x' }, 'v'), 'INVALID_ARGUMENT');
      await expectSopError(t.find('smith'), 'INVALID_ARGUMENT');
      await expectSopError(t.add({ last: 'x', age: NaN }, 'v'), 'INVALID_ARGUMENT');
      assert.equal(t.count, 6);
    });
  });

  it('the key order survives reopen and a different one is refused', async () => {
    db = await reopen(db);
    assert.deepEqual((await readStore(db, 'people', (t) => collect(t))).map(([, v]) => v), expectedOrder);
    await db.transaction('read', async (tx) => {
      await expectSopError(db.newBtree(tx, 'people', { keyOrder: [{ field: 'last' }, { field: 'age' }] }), 'INVALID_ARGUMENT');
      const same = await db.newBtree<Person, string>(tx, 'people', { keyOrder });
      assert.equal(same.count, 6);
    });
  });

  it('array keys ordered by index fields', async () => {
    const rows: Array<[string, number, string]> = [
      ['b', 1, 'x'],
      ['a', 1, 'y'],
      ['a', 3, 'z'],
      ['b', 2, 'w'],
    ];
    await seedStore(db, 'rows', rows.map((r) => [r, r[2]] as const), { keyOrder: [{ field: 0 }, { field: 1, order: 'desc' }], slotLength: 2 });
    assert.deepEqual((await readStore(db, 'rows', (t) => collect(t))).map(([, v]) => v), ['z', 'y', 'w', 'x']);
    await db.transaction('write', async (tx) => {
      const t = await db.openBtree<unknown[], string>(tx, 'rows');
      assert.equal(await t.add(['a', 3, 'other'], 'dup'), false, 'index 2 is not part of the key order');
      await expectSopError(t.add(['c'], 'short'), 'INVALID_ARGUMENT');
    });
  });

  it('a bad keyOrder is INVALID_ARGUMENT', async () => {
    await db.transaction('write', async (tx) => {
      for (const bad of [[], [{ field: 'a' }, { field: 'a' }], [{ field: 'a', order: 'up' }], [{ field: -1 }], [{ field: 1.5 }], [{}]]) {
        await expectSopError(db.newBtree(tx, 'badorder', { keyOrder: bad as never }), 'INVALID_ARGUMENT');
      }
    });
    assert.equal((await db.listStores()).some((s) => s.name === 'badorder'), false);
  });
});

describe('api: user comparer', () => {
  const dirs = new TempDirs();
  let db: Database;
  const caseless = (a: string, b: string) => a.toLowerCase().localeCompare(b.toLowerCase(), 'en');
  before(async () => {
    ({ db } = await freshDb(dirs));
    await db.transaction('write', async (tx) => {
      const t = await db.newBtree<string, number>(tx, 'names', { comparer: caseless, slotLength: 2 });
      for (const [i, n] of ['bob', 'Alice', 'carol', 'Dave', 'eve'].entries()) await t.add(n, i);
    });
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  it('orders keys and decides equality', async () => {
    assert.deepEqual(await readStore(db, 'names', keysOf, caseless), ['Alice', 'bob', 'carol', 'Dave', 'eve']);
    await db.transaction('write', async (tx) => {
      const t = await db.openBtree<string, number>(tx, 'names', { comparer: caseless });
      assert.equal(await t.add('BOB', 9), false, 'BOB equals bob under the comparer');
      assert.equal(await valueAt(t, 'CAROL'), 2);
    });
  });

  it('range bounds use the comparer', async () => {
    const got = await readStore<string, number, Array<[string, number]>>(db, 'names', (t) => collect(t, { gt: 'BOB', lte: 'DAVE' }), caseless);
    assert.deepEqual(got.map(([k]) => k), ['carol', 'Dave']);
  });

  it('after reopen, opening without the comparer is INVALID_ARGUMENT; with it, everything is there', async () => {
    db = await reopen(db);
    await db.transaction('read', async (tx) => {
      await expectSopError(db.openBtree(tx, 'names'), 'INVALID_ARGUMENT');
      await expectSopError(db.newBtree(tx, 'names'), 'INVALID_ARGUMENT');
    });
    assert.deepEqual(await readStore(db, 'names', keysOf, caseless), ['Alice', 'bob', 'carol', 'Dave', 'eve']);
  });

  it('a comparer on a store created without one is INVALID_ARGUMENT', async () => {
    await seedStore(db, 'plain', [['a', 1]]);
    await db.transaction('read', async (tx) => {
      await expectSopError(db.openBtree<string, number>(tx, 'plain', { comparer: caseless }), 'INVALID_ARGUMENT');
      await expectSopError(db.newBtree<string, number>(tx, 'plain', { comparer: caseless }), 'INVALID_ARGUMENT');
    });
  });

  it('a comparer that throws or returns a non-number gives INVALID_ARGUMENT, not a broken tree', async () => {
    const throwing = (a: number, b: number) => {
      if (a === 13 || b === 13) throw new Error('unlucky');
      return a - b;
    };
    await db.transaction('write', async (tx) => {
      const t = await db.newBtree<number, string>(tx, 'picky', { comparer: throwing, slotLength: 2 });
      for (const k of [1, 2, 3, 4, 5]) await t.add(k, `v${k}`);
    });
    await db.transaction('write', async (tx) => {
      const t = await db.openBtree<number, string>(tx, 'picky', { comparer: throwing });
      await expectSopError(t.add(13, 'x'), 'INVALID_ARGUMENT');
    });
    assert.deepEqual(await readStore(db, 'picky', keysOf, throwing), [1, 2, 3, 4, 5]);
    const nan = (a: number, b: number) => (a === b ? 0 : NaN);
    await db.transaction('write', async (tx) => {
      const t = await db.newBtree<number, string>(tx, 'nan', { comparer: nan });
      await t.add(1, 'first add compares nothing');
      await expectSopError(t.add(2, 'x'), 'INVALID_ARGUMENT');
    });
  });
});
