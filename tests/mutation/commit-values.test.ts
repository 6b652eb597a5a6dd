/**
 * Which blobs a commit writes and which it makes obsolete (src/txn/commit.ts `plan` and
 * `planValues`), for add, update, remove and plain reads, in a store with values in separate
 * blobs (`valueInNode: false`) and one with values in the nodes. Each test ends with the
 * structure check: every referenced blob exists (so the new value and node blobs were written,
 * COW-1, TX-6) and no blob is unreferenced (so exactly the replaced and removed ones were
 * deleted, STRUCT-3), and the step and priority logs are gone (LOG-3).
 *
 * One database is shared by the tests of this file (store creation is the slow part); each
 * test touches its own keys and updates the model of both stores.
 *
 * Mutants these kill: a skipped or inverted value-blob write, an obsolete list that misses
 * replaced or removed values or node blobs, one that lists a value that was only read (data
 * loss), one that lists `undefined` for an in-node value (the cleanup then fails and leaves the
 * step log), optional chaining dropped on `current`/`original` (removes and adds crash).
 *
 * Every database here commits in place (`journal: false`): these tests name the in-place
 * protocol's steps, logs and files (clustered mode's protocol; journal mode, the standalone
 * default, has its own in tests/journal and the I/O-error loop).
 */
import { strict as assert } from 'node:assert';
import { type Btree, Database } from '../../src/index.js';
import { assertClean, blobIds, contents, mapOf, range, tempFolder, translogs } from './helpers.js';

describe('mutation: blobs written and made obsolete by a commit (COW-1, TX-6, STRUCT-3)', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof tempFolder>;
  let db: Database;
  const N = 40;
  const v = mapOf(range(N), (k) => `v${k}`);
  const n = mapOf(range(N), (k) => `n${k}`);

  before(async () => {
    tmp = tempFolder('values');
    db = await Database.open({ journal: false, folder: tmp.path });
    await db.transaction('write', async (tx) => {
      const bv = await db.newBtree<number, string>(tx, 'v', { valueInNode: false, slotLength: 4 });
      const bn = await db.newBtree<number, string>(tx, 'n', { slotLength: 4 });
      for (const k of range(N)) {
        await bv.add(k, `v${k}`);
        await bn.add(k, `n${k}`);
      }
    });
  });

  after(async () => {
    await db.close();
    tmp.remove();
  });

  /** After the commit, and again from disk after a reopen (no cache): the model's contents and a clean structure. */
  async function expectModel(): Promise<void> {
    for (let round = 0; round < 2; round++) {
      const when = round ? 'after reopen' : 'after commit';
      assert.deepEqual(await contents(db, 'v'), v, `store v, ${when}`);
      assert.deepEqual(await contents(db, 'n'), n, `store n, ${when}`);
      await assertClean(db, 'v', v.size);
      await assertClean(db, 'n', n.size);
      assert.deepEqual(translogs(tmp.path), [], `step and priority logs are gone (LOG-3), ${when}`);
      if (round === 0) {
        await db.close();
        db = await Database.open({ journal: false, folder: tmp.path });
        assert.deepEqual(db.recovery, { redone: 0, undone: 0, cleaned: 0 });
      }
    }
  }

  const write = (fn: (bv: Btree<number, string>, bn: Btree<number, string>) => Promise<void>): Promise<void> =>
    db.transaction('write', async (tx) => fn(await db.openBtree<number, string>(tx, 'v'), await db.openBtree<number, string>(tx, 'n')));

  it('TX-6, COW-1: adds write their value blobs; the committed values read back from disk', async () => {
    const before = blobIds(tmp.path, 'v');
    await write(async (bv) => {
      for (const k of range(3, 100)) assert.ok(await bv.add(k, `v${k}`));
    });
    for (const k of range(3, 100)) v.set(k, `v${k}`);
    const added = [...blobIds(tmp.path, 'v')].filter((id) => !before.has(id));
    assert.ok(added.length >= 4, `three value blobs and a leaf were written, got ${added.length}`);
    await expectModel();
  });

  it('STRUCT-3, TX-6: an update writes a fresh value blob and deletes the replaced one and the old node versions', async () => {
    const before = blobIds(tmp.path, 'v');
    await write(async (bv) => {
      assert.ok(await bv.update(3, 'new3'));
      assert.ok(await bv.find(9));
      assert.ok(await bv.updateCurrentValue('new9'));
    });
    v.set(3, 'new3');
    v.set(9, 'new9');
    const after = blobIds(tmp.path, 'v');
    const gone = [...before].filter((id) => !after.has(id));
    const fresh = [...after].filter((id) => !before.has(id));
    // two value blobs and at least one leaf version replaced: as many deleted as written
    assert.ok(gone.length >= 3, `replaced blobs deleted: ${gone.length}`);
    assert.equal(fresh.length, gone.length, 'one fresh blob for each replaced one');
    await expectModel();
  });

  it('STRUCT-3: a remove deletes the removed value blob', async () => {
    const before = blobIds(tmp.path, 'v').size;
    await write(async (bv) => {
      assert.ok(await bv.remove(14));
    });
    v.delete(14);
    assert.equal(blobIds(tmp.path, 'v').size, before - 1, 'one value blob fewer; node versions replaced one for one');
    await expectModel();
  });

  it('COW-1, REC-4: values only read by a write transaction are neither rewritten nor deleted', async () => {
    await write(async (bv) => {
      for (const k of [0, 5, 11, 20]) {
        assert.ok(await bv.find(k));
        assert.equal(await bv.getCurrentValue(), `v${k}`);
      }
      assert.ok(await bv.update(6, 'new6'));
    });
    v.set(6, 'new6');
    await expectModel();
  });

  it('STRUCT-3, TX-6: add-then-update, add-then-remove, update-then-remove and update-twice in one transaction', async () => {
    await write(async (bv) => {
      assert.ok(await bv.add(50, 'a'));
      assert.ok(await bv.update(50, 'b')); // only the last value of an added item is written
      assert.ok(await bv.add(51, 'gone'));
      assert.ok(await bv.remove(51)); // never written at all
      assert.ok(await bv.update(2, 'x'));
      assert.ok(await bv.remove(2)); // the committed value is obsolete, the staged one never written
      assert.ok(await bv.update(7, 'y'));
      assert.ok(await bv.update(7, 'z'));
    });
    v.set(50, 'b');
    v.delete(2);
    v.set(7, 'z');
    await expectModel();
  });

  it('LOG-3, STRUCT-3: updates and removes of values kept in the nodes (no value blobs) clean up completely', async () => {
    await write(async (bv, bn) => {
      assert.ok(await bn.update(1, 'm1'));
      assert.ok(await bn.remove(8));
      assert.ok(await bv.update(1, 'w1'));
    });
    n.set(1, 'm1');
    n.delete(8);
    v.set(1, 'w1');
    await expectModel();
  });

  it('STRUCT-3: removing a key range removes whole nodes; their blobs and the values are deleted', async () => {
    const nodesBefore = (await db.checkStore('v')).nodes;
    await write(async (bv, bn) => {
      for (const k of range(16, 21)) {
        assert.ok(await bv.remove(k));
        assert.ok(await bn.remove(k));
        v.delete(k);
        n.delete(k);
      }
    });
    assert.ok((await db.checkStore('v')).nodes < nodesBefore, 'nodes were removed');
    await expectModel();
  });
});
