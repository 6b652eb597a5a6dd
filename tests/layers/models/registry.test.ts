/**
 * The model registry's API (spec MODEL-1..MODEL-3): put, get, latest (npm's rule), versions in
 * semver order, remove; bad versions refused before anything is written; records with inline
 * weights or pointing at a stream store; atomic with B-trees and stream stores in one transaction.
 */
import { strict as assert } from 'node:assert';
import { Database } from '../../../src/index.js';
import type { ModelRegistry } from '../../../src/layers/models/index.js';
import { TempDirs, expectSopError } from '../../api/helpers.js';
import { pattern, streamIn, valueOf } from '../stream/helpers.js';

async function versionsOf(models: ModelRegistry, name: string): Promise<string[]> {
  const out: string[] = [];
  for await (const v of models.versions(name)) out.push(v);
  return out;
}

describe('layers/models: registry', () => {
  const dirs = new TempDirs();
  let db: Database;
  beforeEach(async () => (db = await Database.open({ folder: dirs.make('sop-models-') })));
  afterEach(() => db.close());
  after(() => dirs.cleanup());

  it('puts, gets, lists versions in semver order, and removes (MODEL-2)', async () => {
    await db.transaction('write', async (tx) => {
      const models = await db.newModelRegistry(tx, 'models');
      for (const v of ['1.10.0', '1.0.0', '1.2.0', '1.0.0-rc.1', '2.0.0-alpha', '1.0.0-alpha']) await models.put('classifier', v, { v });
      await models.put('aaa', '9.0.0', { v: 'other model' });
      await models.put('classifier2', '0.0.1', { v: 'other model' });
      assert.deepEqual(await models.get('classifier', '1.2.0'), { v: '1.2.0' });
      assert.equal(await models.get('classifier', '1.2.1'), undefined);
      assert.equal(await models.get('nope', '1.2.0'), undefined);
      assert.deepEqual(await versionsOf(models, 'classifier'), ['1.0.0-alpha', '1.0.0-rc.1', '1.0.0', '1.2.0', '1.10.0', '2.0.0-alpha']);
      assert.deepEqual(await versionsOf(models, 'nope'), []);
      await models.put('classifier', '1.2.0', { v: 'replaced' });
      assert.deepEqual(await models.get('classifier', '1.2.0'), { v: 'replaced' });
      assert.equal(await models.remove('classifier', '1.0.0'), true);
      assert.equal(await models.remove('classifier', '1.0.0'), false);
    });
    await db.transaction('read', async (tx) => {
      const models = await db.openModelRegistry(tx, 'models');
      assert.deepEqual(await versionsOf(models, 'classifier'), ['1.0.0-alpha', '1.0.0-rc.1', '1.2.0', '1.10.0', '2.0.0-alpha']);
    });
  });

  it('latest is the highest version without a pre-release tag, as npm (MODEL-2)', async () => {
    await db.transaction('write', async (tx) => {
      const models = await db.newModelRegistry(tx, 'models');
      assert.equal(await models.latest('m'), undefined);
      await models.put('m', '1.0.0-rc.1', 1);
      assert.equal(await models.latest('m'), undefined); // only a pre-release
      await models.put('m', '0.9.0', 2);
      await models.put('m', '1.0.0', 3);
      await models.put('m', '1.1.0-beta', 4);
      await models.put('m', '3.0.0-rc.2', 5);
      await models.put('n', '7.0.0', 6); // the next model's versions are not m's
      assert.equal(await models.latest('m'), '1.0.0');
      await models.put('m', '1.10.0', 7);
      assert.equal(await models.latest('m'), '1.10.0');
      assert.equal(await models.latest('n'), '7.0.0');
      assert.equal(await models.latest('a'), undefined); // before every model
      assert.equal(await models.latest('z'), undefined); // after every model
      await models.remove('m', '1.10.0');
      assert.equal(await models.latest('m'), '1.0.0');
    });
  });

  it('a version that is not semver, a bad name or an undefined record is INVALID_ARGUMENT and writes nothing (MODEL-1)', async () => {
    await db.transaction('write', async (tx) => {
      const models = await db.newModelRegistry(tx, 'models');
      for (const v of ['1.0', 'latest', '01.2.3', '1.0.0+build', '', 7]) {
        await expectSopError(models.put('m', v as never, {}), 'INVALID_ARGUMENT');
        await expectSopError(models.get('m', v as never), 'INVALID_ARGUMENT');
        await expectSopError(models.remove('m', v as never), 'INVALID_ARGUMENT');
      }
      for (const name of ['', 3, '\ud800', 'x'.repeat(257)]) await expectSopError(models.put(name as never, '1.0.0', {}), 'INVALID_ARGUMENT');
      await expectSopError(models.put('m', '1.0.0', undefined), 'INVALID_ARGUMENT');
      await expectSopError(models.put('m', '1.0.0', { f: () => 1 } as never), 'INVALID_ARGUMENT');
      await expectSopError(() => models.versions('').next(), 'INVALID_ARGUMENT');
      await expectSopError(models.latest(5 as never), 'INVALID_ARGUMENT');
      assert.equal(tx.state, 'active');
    });
    const check = await db.checkStore('models');
    assert.equal(check.count, 0);
  });

  it('records hold weights inline (Uint8Array) or point at a stream store (MODEL-3)', async () => {
    const weights = pattern(300_000, 1);
    await db.transaction('write', async (tx) => {
      const models = await db.newModelRegistry(tx, 'models');
      await models.put('small', '1.0.0', { config: { layers: 3 }, weights });
      const media = await db.newStreamStore(tx, 'weights', { chunkSize: 64 * 1024 });
      await streamIn(media, 'big/2.0.0', pattern(500_000, 2));
      await models.put('big', '2.0.0', { config: { layers: 96 }, stream: { store: 'weights', name: 'big/2.0.0' } });
    });
    await db.transaction('read', async (tx) => {
      const models = await db.openModelRegistry(tx, 'models');
      const small = (await models.get('small', '1.0.0')) as { weights: Uint8Array };
      assert.deepEqual(small.weights, weights);
      const big = (await models.get('big', '2.0.0')) as { stream: { store: string; name: string } };
      const media = await db.openStreamStore(tx, big.stream.store);
      assert.deepEqual(await valueOf(media, big.stream.name), pattern(500_000, 2));
    });
  });

  it('commits and rolls back together with B-trees and stream stores (MODEL-3)', async () => {
    const tx = await db.beginTransaction('write');
    const models = await db.newModelRegistry(tx, 'models');
    await models.put('m', '1.0.0', { trainedOn: 'set-1' });
    await (await db.newBtree<string, number>(tx, 'data')).add('set-1', 100);
    await streamIn(await db.newStreamStore(tx, 'media', { chunkSize: 16 }), 'w', pattern(100, 3));
    await tx.rollback();
    assert.deepEqual(await db.listStores({ parts: true }), []); // the creations went too
    await db.transaction('write', async (t) => {
      await (await db.newModelRegistry(t, 'models')).put('m', '1.0.0', { trainedOn: 'set-1' });
      await (await db.newBtree<string, number>(t, 'data')).add('set-1', 100);
      await streamIn(await db.newStreamStore(t, 'media', { chunkSize: 16 }), 'w', pattern(100, 3));
    });
    const t2 = await db.beginTransaction('write');
    await (await db.openModelRegistry(t2, 'models')).put('m', '1.1.0', { trainedOn: 'set-2' });
    await (await db.openBtree<string, number>(t2, 'data')).add('set-2', 200);
    await t2.rollback();
    await db.transaction('read', async (t) => {
      const m = await db.openModelRegistry(t, 'models');
      assert.deepEqual(await versionsOf(m, 'm'), ['1.0.0']);
      assert.equal(await m.latest('m'), '1.0.0');
      assert.equal((await db.openBtree<string, number>(t, 'data')).count, 1);
    });
    for (const store of ['models', 'data', 'media', 'media@chunks']) assert.equal((await db.checkStore(store)).orphanBlobs, 0, store);
  });

  it('commits and rolls back together with a vector store (MODEL-3)', async () => {
    const tx = await db.beginTransaction('write');
    await (await db.newModelRegistry(tx, 'models')).put('embedder', '1.0.0', { dims: 4 });
    await (await db.newVectorStore(tx, 'docs', { dimensions: 4, metric: 'cosine' })).upsert('doc-1', [1, 0, 0, 0], { model: 'embedder@1.0.0' });
    await tx.rollback();
    assert.deepEqual(await db.listStores(), []);
    await db.transaction('write', async (t) => {
      await (await db.newModelRegistry(t, 'models')).put('embedder', '1.0.0', { dims: 4 });
      await (await db.newVectorStore(t, 'docs', { dimensions: 4, metric: 'cosine' })).upsert('doc-1', [1, 0, 0, 0], { model: 'embedder@1.0.0' });
    });
    const t2 = await db.beginTransaction('write');
    await (await db.openModelRegistry(t2, 'models')).put('embedder', '2.0.0', { dims: 4 });
    await (await db.openVectorStore(t2, 'docs')).upsert('doc-2', [0, 1, 0, 0], { model: 'embedder@2.0.0' });
    await t2.rollback();
    await db.transaction('read', async (t) => {
      assert.equal(await (await db.openModelRegistry(t, 'models')).latest('embedder'), '1.0.0');
      const docs = await db.openVectorStore(t, 'docs');
      assert.deepEqual((await docs.get('doc-1'))?.metadata, { model: 'embedder@1.0.0' });
      assert.equal(await docs.get('doc-2'), undefined);
    });
  });

  it('versions() survives other calls between its items, past one batch', async () => {
    await db.transaction('write', async (tx) => {
      const models = await db.newModelRegistry(tx, 'models');
      const all = Array.from({ length: 600 }, (_, i) => `1.${i}.0`);
      for (const v of all) await models.put('m', v, i(v));
      await models.put('n', '0.0.1', 0);
      const seen: string[] = [];
      for await (const v of models.versions('m')) {
        seen.push(v);
        assert.equal(await models.get('m', v), i(v)); // moves the shared cursor
      }
      assert.deepEqual(seen, all);
    });
    function i(v: string): number {
      return Number(v.split('.')[1]);
    }
  });

  it('create, open, kinds: openModelRegistry of a missing store is STORE_NOT_FOUND, of another kind INVALID_ARGUMENT', async () => {
    await db.transaction('write', async (tx) => {
      await expectSopError(db.openModelRegistry(tx, 'models'), 'STORE_NOT_FOUND');
      await db.newModelRegistry(tx, 'models');
      await db.newModelRegistry(tx, 'models'); // opens
      await db.newStreamStore(tx, 'media');
      await expectSopError(db.openModelRegistry(tx, 'media'), 'INVALID_ARGUMENT');
      await expectSopError(db.newModelRegistry(tx, 'media'), 'INVALID_ARGUMENT');
    });
    assert.deepEqual(await db.listStores(), [{ name: 'media', kind: 'stream' }, { name: 'models', kind: 'models' }]);
  });

  it('writes in a read transaction are READ_ONLY; after the transaction, TX_CLOSED', async () => {
    await db.transaction('write', async (tx) => (await db.newModelRegistry(tx, 'models')).put('m', '1.0.0', 1));
    const tx = await db.beginTransaction('read');
    const models = await db.openModelRegistry(tx, 'models');
    await expectSopError(models.put('m', '1.0.1', 1), 'READ_ONLY');
    await expectSopError(models.remove('m', '1.0.0'), 'READ_ONLY');
    await tx.commit();
    await expectSopError(models.get('m', '1.0.0'), 'TX_CLOSED');
    await expectSopError(models.latest('m'), 'TX_CLOSED');
  });
});
