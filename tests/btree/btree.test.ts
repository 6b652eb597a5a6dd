import { strict as assert } from 'node:assert';
import { BTree } from '../../src/btree/btree.js';
import type { SeekMode } from '../../src/btree/btree.js';
import { SopError } from '../../src/errors/sop-error.js';
import { item, makeTree, numberCompare, payload, rejectsWith, walk } from './helpers.js';

async function addKeys(tree: BTree, keys: number[], idPrefix = 'i'): Promise<void> {
  for (const k of keys) assert.equal(await tree.add(item(k, `${idPrefix}${String(k).padStart(5, '0')}`)), true);
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('BTree (BTREE-1, BTREE-2, BTREE-3)', () => {
  describe('empty tree', () => {
    it('has nothing to find or walk', async () => {
      const { tree } = makeTree(4, true);
      assert.equal(tree.current(), undefined);
      assert.equal(await tree.find(1), false);
      assert.equal(await tree.findItem(1, 'a'), false);
      for (const mode of ['ge', 'gt', 'le', 'lt'] as SeekMode[]) assert.equal(await tree.seek(1, mode), false);
      assert.equal(await tree.first(), false);
      assert.equal(await tree.last(), false);
      assert.equal(await tree.next(), false);
      assert.equal(await tree.previous(), false);
      assert.deepEqual(await tree.check(), { count: 0, depth: 1, nodes: 1 });
    });

    it('rejects cursor mutations when not positioned', async () => {
      const { tree } = makeTree(4, true);
      await rejectsWith(tree.removeCurrent(), 'INVALID_ARGUMENT');
      await rejectsWith(tree.replaceCurrent(item(1, 'a')), 'INVALID_ARGUMENT');
    });
  });

  it('rejects a bad slotLength', () => {
    const { access } = makeTree(4, true);
    for (const slotLength of [0, 1, 2.5, Number.NaN]) {
      assert.throws(() => new BTree(access, { slotLength, unique: true, compare: numberCompare }), SopError);
    }
  });

  describe('unique tree', () => {
    it('adds, finds and refuses duplicate keys', async () => {
      const { tree } = makeTree(3, true);
      await addKeys(tree, [5, 1, 9, 3, 7]);
      assert.equal(tree.current()!.key, 7);
      assert.equal(await tree.add(item(3, 'other')), false);
      assert.deepEqual(tree.current(), item(3, 'i00003'));
      assert.equal(await tree.find(9), true);
      assert.equal(tree.current()!.id, 'i00009');
      assert.equal(await tree.find(4), false);
      assert.equal(tree.current()!.key, 5, 'a miss lands on the next greater key');
      assert.equal(await tree.find(10), false);
      assert.equal(tree.current(), undefined);
      assert.deepEqual((await walk(tree)).map((i) => i.key), [1, 3, 5, 7, 9]);
      assert.equal((await tree.check()).count, 5);
    });

    it('findItem matches key and id exactly', async () => {
      const { tree } = makeTree(2, true);
      await addKeys(tree, range(20));
      assert.equal(await tree.findItem(7, 'i00007'), true);
      assert.equal(tree.current()!.key, 7);
      assert.equal(await tree.findItem(7, 'i00008'), false);
      assert.equal(tree.current(), undefined);
      assert.equal(await tree.findItem(7.5, 'i00007'), false);
      assert.equal(await tree.findItem(100, 'x'), false);
    });
  });

  describe('non-unique tree', () => {
    it('orders duplicates by id and finds the first', async () => {
      const { tree } = makeTree(2, false);
      for (const id of ['d', 'b', 'e', 'a', 'c']) assert.equal(await tree.add(item(5, id)), true);
      await tree.add(item(4, 'z'));
      await tree.add(item(6, 'a'));
      assert.equal(await tree.find(5), true);
      assert.equal(tree.current()!.id, 'a');
      assert.equal(await tree.find(5, true), true);
      assert.equal(tree.current()!.id, 'a');
      const ids: string[] = [];
      do ids.push(`${tree.current()!.key}${tree.current()!.id}`);
      while (await tree.next());
      assert.deepEqual(ids, ['5a', '5b', '5c', '5d', '5e', '6a']);
      assert.equal(await tree.findItem(5, 'c'), true);
      assert.equal(await tree.findItem(5, 'f'), false);
      await tree.check();
    });

    it('seeks to the first or last duplicate', async () => {
      const { tree } = makeTree(3, false);
      const entries: [number, string][] = [[2, 'e'], [1, 'a'], [2, 'b'], [2, 'g'], [3, 'a'], [2, 'd'], [2, 'c'], [2, 'f']];
      for (const [k, id] of entries) await tree.add(item(k, id));
      const at = async (k: number, mode: SeekMode) =>
        (await tree.seek(k, mode)) ? `${tree.current()!.key}${tree.current()!.id}` : undefined;
      assert.equal(await at(2, 'ge'), '2b');
      assert.equal(await at(2, 'le'), '2g');
      assert.equal(await at(2, 'gt'), '3a');
      assert.equal(await at(2, 'lt'), '1a');
      assert.equal(await at(1.5, 'gt'), '2b');
      assert.equal(await at(2.5, 'lt'), '2g');
    });

    it('rejects adding the same (key, id) twice', async () => {
      const { tree } = makeTree(4, false);
      await tree.add(item(1, 'a'));
      await rejectsWith(tree.add(item(1, 'a')), 'INVALID_ARGUMENT');
      assert.equal(await tree.add(item(2, 'a')), true, 'the same id under another key is a distinct entry');
    });
  });

  describe('seek', () => {
    const cases: [number, SeekMode, number | undefined][] = [
      [-1, 'ge', 0], [-1, 'gt', 0], [-1, 'le', undefined], [-1, 'lt', undefined],
      [0, 'ge', 0], [0, 'gt', 2], [0, 'le', 0], [0, 'lt', undefined],
      [1, 'ge', 2], [1, 'gt', 2], [1, 'le', 0], [1, 'lt', 0],
      [2, 'ge', 2], [2, 'gt', 4], [2, 'le', 2], [2, 'lt', 0],
      [98, 'ge', 98], [98, 'gt', undefined], [98, 'le', 98], [98, 'lt', 96],
      [99, 'ge', undefined], [99, 'gt', undefined], [99, 'le', 98], [99, 'lt', 98],
    ];
    for (const slot of [2, 3, 16]) {
      it(`finds boundaries with even keys 0..98, slotLength ${slot}`, async () => {
        const { tree } = makeTree(slot, true);
        await addKeys(tree, range(50).map((i) => i * 2));
        for (const [key, mode, expected] of cases) {
          const ok = await tree.seek(key, mode);
          assert.equal(ok, expected !== undefined, `${mode} ${key}`);
          assert.equal(tree.current()?.key, expected, `${mode} ${key}`);
        }
      });
    }

    it('rejects an unknown mode', async () => {
      const { tree } = makeTree(4, true);
      await rejectsWith(tree.seek(1, 'eq' as SeekMode), 'INVALID_ARGUMENT');
    });
  });

  describe('cursor walks', () => {
    it('crosses many leaves in both directions', async () => {
      const { tree } = makeTree(4, true);
      const keys = range(500).reverse();
      await addKeys(tree, keys);
      const { depth } = await tree.check();
      assert.ok(depth >= 4);
      assert.deepEqual((await walk(tree)).map((i) => i.key), range(500));
      assert.deepEqual((await walk(tree, true)).map((i) => i.key), range(500).reverse());
    });

    it('turns around in the middle and stops at the ends', async () => {
      const { tree } = makeTree(2, true);
      await addKeys(tree, range(40));
      assert.equal(await tree.find(20), true);
      for (let k = 21; k < 40; k++) assert.equal((await tree.next()) && tree.current()!.key, k);
      assert.equal(await tree.next(), false);
      assert.equal(tree.current(), undefined);
      assert.equal(await tree.next(), false);
      assert.equal(await tree.previous(), false);
      assert.equal(await tree.first(), true);
      assert.equal(await tree.previous(), false);
      assert.equal(tree.current(), undefined);
      await tree.seek(10, 'le');
      for (let k = 9; k >= 0; k--) assert.equal((await tree.previous()) && tree.current()!.key, k);
    });
  });

  describe('replaceCurrent', () => {
    it('replaces the item and keeps the cursor on it', async () => {
      const { tree } = makeTree(2, true);
      await addKeys(tree, range(10));
      await tree.find(4);
      await tree.replaceCurrent({ key: 4, id: 'i00004', version: 2, valueBytes: payload('new') });
      assert.deepEqual(tree.current(), { key: 4, id: 'i00004', version: 2, valueBytes: payload('new') });
      assert.equal(await tree.next(), true);
      assert.equal(tree.current()!.key, 5);
      await tree.find(4);
      assert.deepEqual(tree.current()!.valueBytes, payload('new'));
    });

    it('rejects another id or another key', async () => {
      const { tree } = makeTree(2, true);
      await addKeys(tree, range(10));
      await tree.find(4);
      await rejectsWith(tree.replaceCurrent(item(4, 'other')), 'INVALID_ARGUMENT');
      await rejectsWith(tree.replaceCurrent(item(5, 'i00004')), 'INVALID_ARGUMENT');
      assert.equal(tree.current()!.id, 'i00004', 'the cursor stays');
    });
  });

  describe('removeCurrent', () => {
    it('moves the cursor to the next entry, unpositioned after the last', async () => {
      const { tree } = makeTree(2, true);
      await addKeys(tree, range(10));
      await tree.find(3);
      await tree.removeCurrent();
      assert.equal(tree.current()!.key, 4);
      await tree.last();
      await tree.removeCurrent();
      assert.equal(tree.current(), undefined);
      assert.deepEqual((await walk(tree)).map((i) => i.key), [0, 1, 2, 4, 5, 6, 7, 8]);
      await tree.check();
    });

    it('removes every item from the front and from the back', async () => {
      for (const fromBack of [false, true]) {
        const { tree, access } = makeTree(3, false);
        await addKeys(tree, range(200));
        for (let n = 200; n > 0; n--) {
          assert.equal(fromBack ? await tree.last() : await tree.first(), true);
          await tree.removeCurrent();
          assert.equal((await tree.check()).count, n - 1);
        }
        assert.deepEqual(await tree.check(), { count: 0, depth: 1, nodes: 1 });
        assert.deepEqual([...access.liveIds()], ['root']);
      }
    });
  });

  describe('root', () => {
    it('splits and collapses with the root id unchanged', async () => {
      const { tree, access } = makeTree(2, true);
      await addKeys(tree, [1, 2]);
      assert.equal((await access.get('root')).kind, 'leaf');
      await addKeys(tree, [3]);
      const root = await access.get('root');
      assert.equal(root.kind, 'internal');
      assert.deepEqual(await tree.check(), { count: 3, depth: 2, nodes: 3 });
      await addKeys(tree, range(30, 4));
      assert.ok((await tree.check()).depth >= 3);
      while (await tree.first()) await tree.removeCurrent();
      const empty = await access.get('root');
      assert.deepEqual({ ...empty }, { kind: 'leaf', id: 'root', items: [] });
      assert.deepEqual([...access.liveIds()], ['root']);
    });

    it('collapses back to a leaf root once few items remain', async () => {
      const { tree, access } = makeTree(4, true);
      await addKeys(tree, range(100));
      for (let k = 0; k < 97; k++) {
        await tree.find(k);
        await tree.removeCurrent();
      }
      assert.deepEqual(await tree.check(), { count: 3, depth: 1, nodes: 1 });
      assert.equal((await access.get('root')).kind, 'leaf');
    });
  });

  describe('transactions', () => {
    it('never mutates committed nodes; rollback restores the old tree', async () => {
      const { store, access, tree } = makeTree(3, true);
      await addKeys(tree, range(60));
      access.commit();
      const snapshot = JSON.stringify([...store.committed]);
      const tx = store.begin({ strict: true });
      const t2 = new BTree(tx, { slotLength: 3, unique: true, compare: numberCompare });
      await addKeys(t2, range(60, 100));
      for (let k = 0; k < 60; k += 2) {
        await t2.find(k);
        await t2.removeCurrent();
      }
      await t2.find(1);
      await t2.replaceCurrent(item(1, 'i00001', 'x'));
      await t2.check();
      tx.rollback();
      assert.equal(JSON.stringify([...store.committed]), snapshot);
      const t3 = new BTree(store.begin(), { slotLength: 3, unique: true, compare: numberCompare });
      assert.equal((await t3.check()).count, 60);
    });
  });

  it('propagates comparer errors', async () => {
    const { tree } = makeTree(2, true);
    await addKeys(tree, range(10));
    await rejectsWith(tree.find('x'), 'INVALID_ARGUMENT');
    await rejectsWith(tree.add(item('x' as unknown as number, 'x')), 'INVALID_ARGUMENT');
    assert.equal(tree.current(), undefined);
    assert.equal((await tree.check()).count, 10);
  });
});
