import { strict as assert } from 'node:assert';
import { item, makeTree, prng, shuffle, walk } from './helpers.js';

const N = 20_000;

describe('BTree bulk', function () {
  this.timeout(300_000);

  it('builds 20,000 shuffled items (slotLength 64), walks them, deletes 90% and stays sound', async () => {
    const rnd = prng(20_240_601);
    const { tree, access } = makeTree(64, true, false);
    const keys = shuffle(Array.from({ length: N }, (_, i) => i), rnd);
    for (const [i, k] of keys.entries()) {
      assert.equal(await tree.add(item(k, `id${k}`)), true);
      if (i % 5_000 === 4_999) access.commit();
    }
    const built = await tree.check();
    assert.equal(built.count, N);
    assert.ok(built.depth >= 3, `depth ${built.depth}`);
    assert.equal(access.liveIds().size, built.nodes);

    const forward = await walk(tree);
    assert.deepEqual(forward.map((it) => it.key), Array.from({ length: N }, (_, i) => i));
    assert.equal((await walk(tree, true)).length, N);

    const doomed = shuffle([...keys], rnd).slice(0, N * 0.9);
    for (const [i, k] of doomed.entries()) {
      assert.equal(await tree.find(k), true);
      await tree.removeCurrent();
      const next = tree.current();
      if (next !== undefined) assert.ok((next.key as number) > k);
      if (i % 4_000 === 3_999) access.commit();
    }
    const left = await tree.check();
    assert.equal(left.count, N / 10);
    assert.equal(access.liveIds().size, left.nodes, 'removed nodes are released');
    const gone = new Set(doomed);
    const expected = Array.from({ length: N }, (_, i) => i).filter((k) => !gone.has(k));
    assert.deepEqual((await walk(tree)).map((it) => it.key), expected);
    assert.ok(left.nodes < built.nodes / 4, `nodes ${left.nodes} of ${built.nodes}: merges keep the tree compact`);
  });

  it('handles many duplicates in a non-unique tree', async () => {
    const rnd = prng(7);
    const { tree } = makeTree(16, false, false);
    const entries = shuffle(Array.from({ length: 5_000 }, (_, i) => ({ k: i % 50, id: `d${String(i).padStart(5, '0')}` })), rnd);
    for (const e of entries) await tree.add(item(e.k, e.id));
    assert.equal((await tree.check()).count, 5_000);
    for (let k = 0; k < 50; k += 7) {
      assert.equal(await tree.find(k), true);
      const ids = [];
      do ids.push(tree.current()!.id);
      while ((await tree.next()) && tree.current()!.key === k);
      assert.equal(ids.length, 100);
      assert.deepEqual(ids, [...ids].sort());
      assert.equal(ids[0], entries.filter((e) => e.k === k).map((e) => e.id).sort()[0]);
    }
    while (await tree.seek(25, 'ge')) {
      if (tree.current()!.key !== 25) break;
      await tree.removeCurrent();
    }
    assert.equal(await tree.find(25), false);
    assert.equal(tree.current()!.key, 26);
    assert.equal((await tree.check()).count, 4_900);
  });
});
