/**
 * The iterator `range()` returns (API-3), as a caller drives it by hand: calls that overlap
 * resolve in order, `return()` and an error end the walk, `limit` never steps past the last
 * entry wanted, and the entries match the cursor walk whether leaves are crossed (slotLength 4)
 * or values are blobs.
 */
import { strict as assert } from 'node:assert';
import { TempDirs, collect, expectSopError, freshDb, readStore, seedStore, walk } from './helpers.js';

const ENTRIES: Array<[number, string]> = Array.from({ length: 41 }, (_, i) => [i * 2, `v${i}`]);

describe('api: range() iterator protocol (API-3)', () => {
  const dirs = new TempDirs();
  after(() => dirs.cleanup());

  for (const valueInNode of [true, false]) {
    describe(valueInNode ? 'values in nodes' : 'values as blobs', () => {
      it('next() calls made at once resolve in key order, each with its own entry', async () => {
        const { db } = await freshDb(dirs);
        await seedStore(db, 's', ENTRIES, { slotLength: 4, valueInNode });
        const results = await readStore(db, 's', async (tree) => {
          const it = tree.range({ gte: 10 });
          return Promise.all(Array.from({ length: 20 }, () => it.next()));
        });
        const expected = ENTRIES.filter(([k]) => k >= 10).slice(0, 20);
        assert.deepEqual(results.map((r) => r.value), expected);
        assert.ok(results.every((r) => r.done === false));
        await db.close();
      });

      it('matches the cursor walk forward and backward, across leaves', async () => {
        const { db } = await freshDb(dirs);
        await seedStore(db, 's', ENTRIES, { slotLength: 4, valueInNode });
        await readStore(db, 's', async (tree) => {
          assert.deepEqual(await collect(tree), await walk(tree));
          assert.deepEqual(await collect(tree, { reverse: true }), await walk(tree, true));
          assert.deepEqual(await collect(tree, { gt: 7, lt: 31 }), ENTRIES.filter(([k]) => k > 7 && k < 31));
          assert.deepEqual(await collect(tree, { gte: 8, lte: 30, reverse: true, values: false }), ENTRIES.filter(([k]) => k >= 8 && k <= 30).reverse().map(([k]) => [k, undefined]));
        });
        await db.close();
      });
    });
  }

  it('return() ends the walk; later next() calls are done', async () => {
    const { db } = await freshDb(dirs);
    await seedStore(db, 's', ENTRIES, { slotLength: 4 });
    await readStore(db, 's', async (tree) => {
      const it = tree.range();
      assert.deepEqual((await it.next()).value, ENTRIES[0]);
      assert.deepEqual(await it.return(undefined), { done: true, value: undefined });
      assert.deepEqual(await it.next(), { done: true, value: undefined });
    });
    await db.close();
  });

  it('a loop that breaks early leaves the cursor where it stopped (no step past the limit)', async () => {
    const { db } = await freshDb(dirs);
    await seedStore(db, 's', ENTRIES, { slotLength: 4 });
    await readStore(db, 's', async (tree) => {
      const got = await collect(tree, { limit: 3 });
      assert.deepEqual(got, ENTRIES.slice(0, 3));
      assert.equal(tree.getCurrentKey(), ENTRIES[2]![0], 'the cursor rests on the last entry returned');
      assert.deepEqual(await collect(tree, { limit: 0 }), []);
    });
    await db.close();
  });

  it('a bad option rejects the first next(), and the walk is over after it', async () => {
    const { db } = await freshDb(dirs);
    await seedStore(db, 's', ENTRIES);
    await readStore(db, 's', async (tree) => {
      for (const options of [{ limit: -1 }, { limit: Number.NaN }, { values: 'yes' as unknown as boolean }, { gte: (() => 1) as unknown as number }]) {
        const it = tree.range(options);
        await expectSopError(it.next(), 'INVALID_ARGUMENT').catch((e: Error) => assert.fail(`${JSON.stringify(options)}: ${e.message}`));
        assert.deepEqual(await it.next(), { done: true, value: undefined }, JSON.stringify(options));
      }
    });
    await db.close();
  });

  it('a transaction that ended fails the next step with a typed error, inside a leaf too', async () => {
    const { db } = await freshDb(dirs);
    await seedStore(db, 's', ENTRIES, { slotLength: 64 });
    let it: AsyncGenerator<[number, string], undefined, undefined> | undefined;
    await readStore<number, string, void>(db, 's', async (tree) => {
      it = tree.range();
      assert.deepEqual((await it.next()).value, ENTRIES[0]);
    });
    const error = await expectSopError(it!.next(), 'TX_CLOSED');
    assert.match(error.message, /transaction/);
    assert.deepEqual(await it!.next(), { done: true, value: undefined });
    await db.close();
  });
});
