/** Example-based behaviour of the Database and Btree write/read methods, per store kind. */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { Database, SopError } from '../../src/index.js';
import { TempDirs, collect, openFilesUnder, expectSopError, freshDb, keysOf, readStore, reopen, seedStore, valueAt, walk } from './helpers.js';

const KINDS = [
  { isUnique: true, valueInNode: true },
  { isUnique: true, valueInNode: false },
  { isUnique: false, valueInNode: true },
  { isUnique: false, valueInNode: false },
] as const;

describe('api: Database lifecycle', () => {
  const dirs = new TempDirs();
  after(() => dirs.cleanup());

  it('creates a missing data folder and starts with no stores', async () => {
    const folder = path.join(dirs.make(), 'nested', 'data');
    const db = await Database.open({ folder });
    try {
      assert.ok(fs.statSync(folder).isDirectory());
      assert.deepEqual((await db.listStores()).map((s) => s.name), []);
      assert.deepEqual(db.recovery, { redone: 0, undone: 0, cleaned: 0 });
    } finally {
      await db.close();
    }
  });

  it('close is idempotent', async () => {
    const { db } = await freshDb(dirs);
    await db.close();
    await db.close();
    await expectSopError(db.listStores(), 'UNAVAILABLE');
  });

  it('close rolls back a transaction still active', async () => {
    const { db } = await freshDb(dirs);
    await seedStore(db, 's', [[1, 'one']]);
    const tx = await db.beginTransaction('write');
    const tree = await db.openBtree<number, string>(tx, 's');
    await tree.add(2, 'two');
    await db.close();
    assert.equal(tx.state, 'rolledBack');
    const db2 = await Database.open({ folder: db.folder });
    try {
      assert.deepEqual(await readStore(db2, 's', collect), [[1, 'one']]);
    } finally {
      await db2.close();
    }
  });
});

for (const kind of KINDS) {
  describe(`api: Btree basics (isUnique=${kind.isUnique}, valueInNode=${kind.valueInNode})`, () => {
    const dirs = new TempDirs();
    let db: Database;
    let n = 0;
    /** A fresh store name per test, created with this kind. */
    let name: string;

    before(async () => {
      ({ db } = await freshDb(dirs));
    });
    beforeEach(async () => {
      name = `s${n++}`;
      await seedStore(db, name, [[10, 'ten'], [20, 'twenty'], [30, 'thirty']], { ...kind, slotLength: 4 });
    });
    after(async () => {
      await db.close();
      dirs.cleanup();
    });

    /** Runs `fn` on the store in a committed write transaction. */
    const write = <T>(fn: (t: import('../../src/index.js').Btree<number, unknown>) => Promise<T>): Promise<T> =>
      db.transaction('write', async (tx) => fn(await db.openBtree<number, unknown>(tx, name)));
    const content = () => readStore<number, unknown, Array<[number, unknown]>>(db, name, collect);

    it('reports its name and uniqueness', async () => {
      await write(async (t) => {
        assert.equal(t.name, name);
        assert.equal(t.isUnique, kind.isUnique);
      });
    });

    it('add inserts a new key and returns true', async () => {
      assert.equal(await write((t) => t.add(15, 'fifteen')), true);
      assert.deepEqual(await content(), [[10, 'ten'], [15, 'fifteen'], [20, 'twenty'], [30, 'thirty']]);
    });

    it(kind.isUnique ? 'add of an existing key returns false and keeps the value' : 'add of an existing key adds a duplicate', async () => {
      const added = await write((t) => t.add(20, 'again'));
      assert.equal(added, !kind.isUnique);
      const entries = await content();
      if (kind.isUnique) assert.deepEqual(entries, [[10, 'ten'], [20, 'twenty'], [30, 'thirty']]);
      else {
        assert.deepEqual(entries.map(([k]) => k), [10, 20, 20, 30]);
        assert.deepEqual(entries.filter(([k]) => k === 20).map(([, v]) => v).sort(), ['again', 'twenty']);
      }
    });

    it('addIfNotExist adds only absent keys', async () => {
      assert.equal(await write((t) => t.addIfNotExist(20, 'no')), false);
      assert.equal(await write((t) => t.addIfNotExist(25, 'yes')), true);
      assert.deepEqual(await content(), [[10, 'ten'], [20, 'twenty'], [25, 'yes'], [30, 'thirty']]);
    });

    it('upsert inserts an absent key and replaces an existing value', async () => {
      assert.equal(await write((t) => t.upsert(5, 'five')), true);
      assert.equal(await write((t) => t.upsert(20, { replaced: true })), true);
      assert.deepEqual(await content(), [[5, 'five'], [10, 'ten'], [20, { replaced: true }], [30, 'thirty']]);
    });

    it('update changes an existing value and never inserts', async () => {
      assert.equal(await write((t) => t.update(99, 'x')), false);
      assert.equal(await write((t) => t.update(30, [3, 0])), true);
      assert.deepEqual(await content(), [[10, 'ten'], [20, 'twenty'], [30, [3, 0]]]);
    });

    it('remove deletes an existing key and returns false for a missing one', async () => {
      assert.equal(await write((t) => t.remove(99)), false);
      assert.equal(await write((t) => t.remove(10)), true);
      assert.deepEqual(await content(), [[20, 'twenty'], [30, 'thirty']]);
    });

    it('find positions on the key; getCurrentKey/getCurrentValue read it', async () => {
      await write(async (t) => {
        assert.equal(await t.find(20), true);
        assert.equal(t.getCurrentKey(), 20);
        assert.equal(await t.getCurrentValue(), 'twenty');
      });
    });

    it('find of a missing key returns false and positions on the next greater key', async () => {
      await write(async (t) => {
        assert.equal(await t.find(21), false);
        assert.equal(t.getCurrentKey(), 30);
        assert.equal(await t.getCurrentValue(), 'thirty');
        assert.equal(await t.find(31), false);
        assert.equal(t.getCurrentKey(), undefined);
        assert.equal(await t.getCurrentValue(), undefined);
      });
    });

    it('updateCurrentValue replaces the value under the cursor', async () => {
      await write(async (t) => {
        assert.equal(await t.find(10), true);
        assert.equal(await t.updateCurrentValue('TEN'), true);
        assert.equal(t.getCurrentKey(), 10);
        assert.equal(await t.getCurrentValue(), 'TEN');
      });
      assert.deepEqual(await content(), [[10, 'TEN'], [20, 'twenty'], [30, 'thirty']]);
    });

    it('updateCurrentValue and removeCurrentItem return false when the cursor is not positioned', async () => {
      await write(async (t) => {
        assert.equal(await t.find(99), false);
        assert.equal(await t.updateCurrentValue('x'), false);
        assert.equal(await t.removeCurrentItem(), false);
        assert.equal(t.count, 3);
      });
      assert.equal((await content()).length, 3);
    });

    it('removeCurrentItem removes the item and moves to the next one', async () => {
      await write(async (t) => {
        assert.equal(await t.find(20), true);
        assert.equal(await t.removeCurrentItem(), true);
        assert.equal(t.getCurrentKey(), 30);
        assert.equal(t.count, 2);
      });
      assert.deepEqual(await content(), [[10, 'ten'], [30, 'thirty']]);
    });

    it('count follows the transaction: its own adds and removes, then the commit', async () => {
      const tx = await db.beginTransaction('write');
      const t = await db.openBtree<number, string>(tx, name);
      assert.equal(t.count, 3);
      await t.add(1, 'a');
      await t.add(2, 'b');
      await t.remove(10);
      await t.update(20, 'changed');
      assert.equal(t.count, 4);
      const other = await readStore(db, name, async (r) => r.count);
      assert.equal(other, 3, 'another transaction sees only the committed count');
      await tx.commit();
      assert.equal(await readStore(db, name, async (r) => r.count), 4);
    });

    it('rollback discards every change', async () => {
      const tx = await db.beginTransaction('write');
      const t = await db.openBtree<number, string>(tx, name);
      await t.add(1, 'a');
      await t.update(20, 'changed');
      await t.remove(30);
      await tx.rollback();
      assert.equal(tx.state, 'rolledBack');
      assert.deepEqual(await content(), [[10, 'ten'], [20, 'twenty'], [30, 'thirty']]);
    });

    it('a transaction reads its own uncommitted writes; others do not', async () => {
      const tx = await db.beginTransaction('write');
      const t = await db.openBtree<number, string>(tx, name);
      await t.add(40, 'forty');
      await t.update(10, 'TEN');
      assert.equal(await valueAt(t, 40), 'forty');
      assert.equal(await valueAt(t, 10), 'TEN');
      assert.deepEqual(await readStore(db, name, async (r) => [await valueAt(r, 40), await valueAt(r, 10)]), [undefined, 'ten']);
      await tx.rollback();
    });

    it('values round-trip exactly (every value type)', async () => {
      const value = {
        s: 'é😀', i: -7, f: 1.5, neg0: -0, nan: NaN, inf: -Infinity, big: -(2n ** 70n), t: true, nil: null, undef: undefined,
        d: new Date(1_700_000_000_123), bytes: new Uint8Array([0, 255, 7]), list: [1, [2, ['three']], { four: 4 }],
        nested: { a: { b: { c: 'deep' } } },
      };
      await write((t) => t.add(50, value));
      const back = await readStore(db, name, (r) => valueAt(r, 50));
      assert.deepStrictEqual(back, value);
      const db2 = await reopen(db);
      db = db2;
      assert.deepStrictEqual(await readStore(db, name, (r) => valueAt(r, 50)), value);
    });

    it('the stored value is a copy: changing the caller object after add changes nothing', async () => {
      const value = { n: 1, list: [1] };
      await write(async (t) => {
        await t.add(60, value);
        value.n = 2;
        value.list.push(2);
        assert.deepEqual(await valueAt(t, 60), { n: 1, list: [1] });
      });
      assert.deepEqual(await readStore(db, name, (r) => valueAt(r, 60)), { n: 1, list: [1] });
    });

    it('a value object returned by a read is not shared with later reads', async () => {
      // Mutating what getCurrentValue/range returned must not change what is stored.
      await write((t) => t.update(20, { n: 1 }));
      await readStore<number, { n: number }, void>(db, name, async (r) => {
        await r.find(20);
        const v = (await r.getCurrentValue())!;
        v.n = 999;
        for await (const [, w] of r.range({ gte: 20, lte: 20 })) w.n = 777;
      });
      assert.deepEqual(await readStore(db, name, (r) => valueAt(r, 20)), { n: 1 });
      db = await reopen(db);
      assert.deepEqual(await readStore(db, name, (r) => valueAt(r, 20)), { n: 1 });
    });

    it('the store and its content survive close and reopen', async () => {
      await write(async (t) => {
        await t.add(40, 'forty');
        await t.remove(10);
      });
      const before = await content();
      db = await reopen(db);
      assert.deepEqual(await content(), before);
      await db.transaction('read', async (tx) => {
        const t = await db.openBtree(tx, name);
        assert.equal(t.isUnique, kind.isUnique);
        assert.equal(t.count, before.length);
      });
      const check = await db.checkStore(name);
      assert.equal(check.count, before.length);
      assert.equal(check.orphanBlobs, 0);
    });
  });
}

describe('api: non-unique duplicates', () => {
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
    it(`update, upsert and remove act on one duplicate at a time (valueInNode=${valueInNode})`, async () => {
      const name = `dups-${valueInNode}`;
      await seedStore(db, name, [[1, 'a'], [2, 'b1'], [2, 'b2'], [2, 'b3'], [3, 'c']], { isUnique: false, valueInNode, slotLength: 2 });
      await db.transaction('write', async (tx) => {
        const t = await db.openBtree<number, string>(tx, name);
        assert.equal(await t.find(2), true);
        const first = await t.getCurrentValue();
        assert.equal(await t.update(2, 'B'), true);
        assert.equal(await valueAt(t, 2), 'B', 'update changed the first duplicate, which find lands on');
        assert.equal(await t.upsert(2, 'U'), true);
        assert.equal(t.count, 5, 'upsert of an existing key adds nothing');
        assert.equal(await t.remove(2), true);
        assert.equal(t.count, 4);
        const rest = (await walk(t)).filter(([k]) => k === 2).map(([, v]) => v).sort();
        assert.deepEqual(rest, ['b1', 'b2', 'b3'].filter((v) => v !== first).sort());
      });
      assert.deepEqual(await readStore(db, name, keysOf), [1, 2, 2, 3]);
      const check = await db.checkStore(name);
      assert.equal(check.count, 4);
      assert.equal(check.orphanBlobs, 0);
    });
  }

  it('many duplicates of one key across several leaves', async () => {
    const entries = Array.from({ length: 40 }, (_, i) => [i % 3 === 0 ? 7 : i, `v${i}`] as const);
    await seedStore(db, 'many', entries, { isUnique: false, slotLength: 3 });
    const keys = await readStore(db, 'many', keysOf);
    assert.deepEqual(keys, entries.map(([k]) => k).sort((a, b) => a - b));
    await readStore<number, string, void>(db, 'many', async (t) => {
      assert.equal(await t.find(7), true);
      let sevens = 0;
      do {
        if (t.getCurrentKey() !== 7) break;
        sevens++;
      } while (await t.next());
      assert.equal(sevens, entries.filter(([k]) => k === 7).length, 'find lands on the first duplicate');
      assert.equal(await t.previous(), true);
    });
  });
});

describe('api: Database.transaction', () => {
  const dirs = new TempDirs();
  let db: Database;
  before(async () => {
    ({ db } = await freshDb(dirs));
    await seedStore(db, 's', [[1, 'one']]);
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  it('commits and returns the result of fn', async () => {
    const result = await db.transaction('write', async (tx) => {
      const t = await db.openBtree<number, string>(tx, 's');
      await t.add(2, 'two');
      return 'done';
    });
    assert.equal(result, 'done');
    assert.deepEqual(await readStore(db, 's', keysOf), [1, 2]);
  });

  it('rolls back and rethrows when fn throws', async () => {
    let seen: import('../../src/index.js').Transaction | undefined;
    await assert.rejects(
      db.transaction('write', async (tx) => {
        seen = tx;
        const t = await db.openBtree<number, string>(tx, 's');
        await t.add(3, 'three');
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(seen?.state, 'rolledBack');
    assert.deepEqual(await readStore(db, 's', keysOf), [1, 2]);
  });

  it('does not retry errors other than CONFLICT', async () => {
    let calls = 0;
    await expectSopError(
      db.transaction('write', async () => {
        calls++;
        throw new SopError('IO', 'disk on fire');
      }),
      'IO',
    );
    assert.equal(calls, 1);
  });

  it('retries a CONFLICT with a fresh transaction', async () => {
    const ids: string[] = [];
    const result = await db.transaction(
      'write',
      async (tx) => {
        ids.push(tx.id);
        if (ids.length < 3) throw new SopError('CONFLICT', 'simulated');
        return ids.length;
      },
      { retries: 5 },
    );
    assert.equal(result, 3);
    assert.equal(new Set(ids).size, 3);
  });

  it('gives up after `retries` retries', async () => {
    let calls = 0;
    await expectSopError(
      db.transaction('write', async () => {
        calls++;
        throw new SopError('CONFLICT', 'simulated');
      }, { retries: 2 }),
      'CONFLICT',
    );
    assert.equal(calls, 3);
  });
});

describe('api: multiple stores in one transaction', () => {
  const dirs = new TempDirs();
  let db: Database;
  before(async () => {
    ({ db } = await freshDb(dirs));
    await seedStore(db, 'accounts', [['alice', 100], ['bob', 50]]);
    await seedStore(db, 'ledger', [[1, 'open']], { valueInNode: false, isUnique: false });
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  it('commits changes to every store together', async () => {
    await db.transaction('write', async (tx) => {
      const accounts = await db.openBtree<string, number>(tx, 'accounts');
      const ledger = await db.openBtree<number, string>(tx, 'ledger');
      await accounts.update('alice', 70);
      await accounts.update('bob', 80);
      await ledger.add(2, 'alice->bob 30');
      const created = await db.newBtree<string, string>(tx, 'audit', { slotLength: 4 });
      await created.add('t2', 'ok');
    });
    assert.deepEqual(await readStore(db, 'accounts', collect), [['alice', 70], ['bob', 80]]);
    assert.deepEqual(await readStore(db, 'ledger', keysOf), [1, 2]);
    assert.deepEqual(await readStore(db, 'audit', collect), [['t2', 'ok']]);
    db = await reopen(db);
    assert.deepEqual(await readStore(db, 'accounts', collect), [['alice', 70], ['bob', 80]]);
    assert.deepEqual(await readStore(db, 'ledger', keysOf), [1, 2]);
    assert.deepEqual((await db.listStores()).map((s) => s.name), ['accounts', 'audit', 'ledger']);
  });

  it('a rollback discards changes to every store and the stores it created', async () => {
    const tx = await db.beginTransaction('write');
    const accounts = await db.openBtree<string, number>(tx, 'accounts');
    const ledger = await db.openBtree<number, string>(tx, 'ledger');
    await accounts.update('alice', 0);
    await ledger.add(3, 'drain');
    const temp = await db.newBtree<number, number>(tx, 'temp');
    await temp.add(1, 1);
    await tx.rollback();
    assert.deepEqual(await readStore(db, 'accounts', collect), [['alice', 70], ['bob', 80]]);
    assert.deepEqual(await readStore(db, 'ledger', keysOf), [1, 2]);
    assert.deepEqual((await db.listStores()).map((s) => s.name), ['accounts', 'audit', 'ledger']);
  });

  it('an aborted commit leaves every store unchanged', async () => {
    const signal = AbortSignal.abort();
    const tx = await db.beginTransaction('write', { signal });
    await (await db.openBtree<string, number>(tx, 'accounts')).update('bob', 0);
    await (await db.openBtree<number, string>(tx, 'ledger')).add(9, 'x');
    await expectSopError(tx.commit(), 'TIMEOUT');
    assert.deepEqual(await readStore(db, 'accounts', collect), [['alice', 70], ['bob', 80]]);
    assert.deepEqual(await readStore(db, 'ledger', keysOf), [1, 2]);
  });
});

describe('api: listStores, removeBtree, checkStore', () => {
  const dirs = new TempDirs();
  let db: Database;
  before(async () => {
    ({ db } = await freshDb(dirs));
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  it('listStores returns the names sorted', async () => {
    for (const name of ['zeta', 'Alpha', 'mid_1', 'a.b-c']) await seedStore(db, name, [[1, name]]);
    assert.deepEqual((await db.listStores()).map((s) => s.name), ['Alpha', 'a.b-c', 'mid_1', 'zeta']);
  });

  it('removeBtree deletes a store and its files; false when absent', async () => {
    assert.equal(await db.removeBtree('zeta'), true);
    assert.equal(await db.removeBtree('zeta'), false);
    assert.deepEqual((await db.listStores()).map((s) => s.name), ['Alpha', 'a.b-c', 'mid_1']);
    assert.equal(fs.existsSync(path.join(db.folder, 'stores', 'zeta')), false);
    await db.transaction('read', async (tx) => expectSopError(db.openBtree(tx, 'zeta'), 'STORE_NOT_FOUND'));
  });

  it('removeBtree is refused (CONFLICT) while a live transaction uses the store', async () => {
    const tx = await db.beginTransaction('read');
    await db.openBtree(tx, 'mid_1');
    await expectSopError(db.removeBtree('mid_1'), 'CONFLICT');
    await tx.commit();
    assert.equal(await db.removeBtree('mid_1'), true);
  });

  it('a removed name can be created again with other options', async () => {
    assert.equal(await db.removeBtree('Alpha'), true);
    await seedStore(db, 'Alpha', [[1, 'a'], [1, 'b']], { isUnique: false, slotLength: 3 });
    assert.deepEqual(await readStore(db, 'Alpha', keysOf), [1, 1]);
  });

  it('a removal survives reopen', async () => {
    assert.equal(await db.removeBtree('a.b-c'), true);
    db = await reopen(db);
    assert.deepEqual((await db.listStores()).map((s) => s.name), ['Alpha']);
  });

  it('checkStore reports the committed count and no orphan blobs after updates and removes', async () => {
    const entries = Array.from({ length: 60 }, (_, i) => [i, { i }] as const);
    await seedStore(db, 'checked', entries, { slotLength: 4, valueInNode: false });
    await db.transaction('write', async (tx) => {
      const t = await db.openBtree<number, { i: number }>(tx, 'checked');
      for (let i = 0; i < 60; i += 3) await t.remove(i);
      for (let i = 1; i < 60; i += 3) await t.update(i, { i: -i });
      await t.add(100, { i: 100 });
    });
    const check = await db.checkStore('checked');
    assert.equal(check.name, 'checked');
    assert.equal(check.count, 41);
    assert.equal(check.orphanBlobs, 0);
    assert.ok(check.depth >= 2, `a 41-item tree of slotLength 4 has depth ${check.depth}`);
    assert.equal(check.nodes, check.handles);
  });

  it('checkStore of a missing store is STORE_NOT_FOUND', async () => {
    await expectSopError(db.checkStore('missing'), 'STORE_NOT_FOUND');
  });
});

describe('api: stores created without items', () => {
  const dirs = new TempDirs();
  after(() => dirs.cleanup());

  it('an empty store created by a committed transaction survives a sweep and a reopen', async () => {
    const { db } = await freshDb(dirs);
    let db2: Database | undefined;
    try {
      const tx = await db.beginTransaction('write');
      await db.newBtree(tx, 'empty', { slotLength: 4 });
      await tx.commit();
      assert.equal(tx.state, 'committed');
      assert.deepEqual((await db.listStores()).map((s) => s.name), ['empty']);
      await db.sweep();
      assert.deepEqual((await db.listStores()).map((s) => s.name), ['empty'], 'a sweep must not undo a committed store creation');
      db2 = await reopen(db);
      assert.deepEqual((await db2.listStores()).map((s) => s.name), ['empty'], 'reopen must not undo a committed store creation');
    } finally {
      await (db2 ?? db).close();
    }
  });

  it('a committed transaction leaves no step log behind in translogs/', async () => {
    const { db, folder } = await freshDb(dirs);
    try {
      await db.transaction('write', async (tx) => {
        await db.newBtree(tx, 'empty2');
      });
      assert.deepEqual(fs.readdirSync(path.join(folder, 'translogs')), []);
      assert.deepEqual(openFilesUnder(path.join(folder, 'translogs')), [], 'the step log file is still open');
    } finally {
      await db.close();
    }
  });
});
