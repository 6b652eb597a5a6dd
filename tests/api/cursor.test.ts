/** Cursor navigation: first/last/next/previous, find positioning, and edits made through the cursor. */
import { strict as assert } from 'node:assert';
import type { Database } from '../../src/index.js';
import { TempDirs, freshDb, keysOf, range, readStore, seedStore, walk } from './helpers.js';

describe('api: cursor on an empty store', () => {
  const dirs = new TempDirs();
  let db: Database;
  before(async () => {
    ({ db } = await freshDb(dirs));
    await db.transaction('write', async (tx) => {
      const t = await db.newBtree(tx, 'empty', { slotLength: 4 });
      await t.add(1, 'gone'); // a committed add + remove, so the store exists and is empty
      await t.remove(1);
    });
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  it('every move returns false and nothing is current', async () => {
    await readStore(db, 'empty', async (t) => {
      assert.equal(t.count, 0);
      assert.equal(await t.first(), false);
      assert.equal(await t.last(), false);
      assert.equal(await t.next(), false);
      assert.equal(await t.previous(), false);
      assert.equal(await t.find(1), false);
      assert.equal(t.getCurrentKey(), undefined);
      assert.equal(await t.getCurrentValue(), undefined);
    });
  });
});

for (const slotLength of [2, 3, 8, 500]) {
  describe(`api: cursor walks (slotLength=${slotLength})`, () => {
    const dirs = new TempDirs();
    let db: Database;
    const keys = range(120).map((i) => i * 2); // even numbers 0..238
    before(async () => {
      ({ db } = await freshDb(dirs));
      // Inserted in a scrambled order, so the tree is built by splits in all places.
      const scrambled = keys.map((_k, i) => keys[(i * 37) % keys.length]!);
      await seedStore(db, 'evens', scrambled.map((k) => [k, `v${k}`] as const), { slotLength });
    });
    after(async () => {
      await db.close();
      dirs.cleanup();
    });

    it('first/next visits every key in ascending order', async () => {
      const entries = await readStore(db, 'evens', (t) => walk(t));
      assert.deepEqual(entries.map(([k]) => k), keys);
      assert.ok(entries.every(([k, v]) => v === `v${k}`));
    });

    it('last/previous visits every key in descending order', async () => {
      const entries = await readStore(db, 'evens', (t) => walk(t, true));
      assert.deepEqual(entries.map(([k]) => k), [...keys].reverse());
    });

    it('first and last land on the extreme keys', async () => {
      await readStore(db, 'evens', async (t) => {
        assert.equal(await t.first(), true);
        assert.equal(t.getCurrentKey(), 0);
        assert.equal(await t.previous(), false, 'nothing before the first key');
        assert.equal(await t.last(), true);
        assert.equal(t.getCurrentKey(), 238);
        assert.equal(await t.next(), false, 'nothing after the last key');
        assert.equal(t.getCurrentKey(), undefined, 'walking off the end leaves the cursor unpositioned');
        assert.equal(await t.next(), false);
      });
    });

    it('find then next/previous moves from the found key', async () => {
      await readStore(db, 'evens', async (t) => {
        for (const k of [0, 2, 100, 236, 238]) {
          assert.equal(await t.find(k), true);
          assert.equal(t.getCurrentKey(), k);
          assert.equal(await t.next(), k !== 238);
          if (k !== 238) assert.equal(t.getCurrentKey(), k + 2);
          assert.equal(await t.find(k), true);
          assert.equal(await t.previous(), k !== 0);
          if (k !== 0) assert.equal(t.getCurrentKey(), k - 2);
        }
      });
    });

    it('a missed find lands on the next greater key; previous gives the greatest smaller one', async () => {
      await readStore(db, 'evens', async (t) => {
        for (const k of [-1, 1, 101, 237]) {
          assert.equal(await t.find(k), false);
          assert.equal(t.getCurrentKey(), k + 1);
          if (k > 0) {
            assert.equal(await t.previous(), true);
            assert.equal(t.getCurrentKey(), k - 1);
          }
        }
        assert.equal(await t.find(239), false);
        assert.equal(t.getCurrentKey(), undefined);
      });
    });

    it('mixing directions returns to the same items', async () => {
      await readStore(db, 'evens', async (t) => {
        assert.equal(await t.find(50), true);
        for (let i = 0; i < 10; i++) assert.equal(await t.next(), true);
        assert.equal(t.getCurrentKey(), 70);
        for (let i = 0; i < 20; i++) assert.equal(await t.previous(), true);
        assert.equal(t.getCurrentKey(), 30);
        assert.equal(await t.getCurrentValue(), 'v30');
      });
    });
  });
}

describe('api: editing through the cursor', () => {
  const dirs = new TempDirs();
  let db: Database;
  let n = 0;
  before(async () => {
    ({ db } = await freshDb(dirs));
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  for (const valueInNode of [true, false]) {
    for (const isUnique of [true, false]) {
      const label = `valueInNode=${valueInNode}, isUnique=${isUnique}`;

      it(`updateCurrentValue during a walk keeps the cursor in place (${label})`, async () => {
        const name = `u${n++}`;
        await seedStore(db, name, range(30).map((i) => [i, i] as const), { slotLength: 3, valueInNode, isUnique });
        await db.transaction('write', async (tx) => {
          const t = await db.openBtree<number, number>(tx, name);
          let more = await t.first();
          while (more) {
            const k = t.getCurrentKey()!;
            assert.equal(await t.updateCurrentValue(k * 10), true);
            assert.equal(t.getCurrentKey(), k);
            more = await t.next();
          }
        });
        const entries = await readStore<number, number, Array<[number, number]>>(db, name, (t) => walk(t));
        assert.deepEqual(entries, range(30).map((i) => [i, i * 10]));
      });

      it(`removeCurrentItem during a walk removes exactly the chosen items (${label})`, async () => {
        const name = `r${n++}`;
        await seedStore(db, name, range(40).map((i) => [i, `v${i}`] as const), { slotLength: 3, valueInNode, isUnique });
        await db.transaction('write', async (tx) => {
          const t = await db.openBtree<number, string>(tx, name);
          let more = await t.first();
          while (more) {
            const k = t.getCurrentKey()!;
            if (k % 3 === 0) {
              assert.equal(await t.removeCurrentItem(), true);
              more = t.getCurrentKey() !== undefined; // the cursor moved to the next item
              if (more) assert.equal(t.getCurrentKey(), k + 1);
            } else {
              more = await t.next();
            }
          }
          assert.equal(t.count, 26);
        });
        assert.deepEqual(await readStore(db, name, keysOf), range(40).filter((i) => i % 3 !== 0));
        const check = await db.checkStore(name);
        assert.equal(check.count, 26);
        assert.equal(check.orphanBlobs, 0);
      });

      it(`removeCurrentItem from last to first empties the store (${label})`, async () => {
        const name = `e${n++}`;
        await seedStore(db, name, range(25).map((i) => [i, i] as const), { slotLength: 2, valueInNode, isUnique });
        await db.transaction('write', async (tx) => {
          const t = await db.openBtree<number, number>(tx, name);
          let removed = 0;
          while (await t.last()) {
            assert.equal(t.getCurrentKey(), 24 - removed);
            assert.equal(await t.removeCurrentItem(), true);
            assert.equal(t.getCurrentKey(), undefined, 'nothing follows the last item');
            removed++;
          }
          assert.equal(removed, 25);
          assert.equal(t.count, 0);
          assert.equal(await t.removeCurrentItem(), false);
        });
        assert.equal(await readStore(db, name, async (t) => t.first()), false);
        const check = await db.checkStore(name);
        assert.equal(check.count, 0);
        assert.equal(check.orphanBlobs, 0);
      });
    }
  }

  it('the cursor sees the transaction own adds in order', async () => {
    await seedStore(db, 'own', [[10, 'a'], [30, 'c']], { slotLength: 2 });
    const tx = await db.beginTransaction('write');
    const t = await db.openBtree<number, string>(tx, 'own');
    await t.add(20, 'b');
    await t.add(40, 'd');
    await t.add(5, 'z');
    assert.deepEqual(await walk(t), [[5, 'z'], [10, 'a'], [20, 'b'], [30, 'c'], [40, 'd']]);
    assert.deepEqual(await walk(t, true), [[40, 'd'], [30, 'c'], [20, 'b'], [10, 'a'], [5, 'z']]);
    assert.deepEqual(await readStore(db, 'own', keysOf), [10, 30], 'others do not see them');
    await tx.rollback();
  });

  it('non-unique: find lands on the first duplicate and next walks all of them', async () => {
    await seedStore(db, 'dups', [[1, 'a'], [5, 'x'], [5, 'y'], [5, 'z'], [9, 'b']], { slotLength: 2, isUnique: false });
    await readStore<number, string, void>(db, 'dups', async (t) => {
      assert.equal(await t.find(5), true);
      assert.equal(await t.previous(), true);
      assert.equal(t.getCurrentKey(), 1, 'nothing with key 5 precedes the found item');
      assert.equal(await t.find(5), true);
      const values: string[] = [];
      do values.push((await t.getCurrentValue())!);
      while ((await t.next()) && t.getCurrentKey() === 5);
      assert.deepEqual(values.sort(), ['x', 'y', 'z']);
      assert.equal(t.getCurrentKey(), 9);
    });
  });
});
