/**
 * Re-clustering as the store grows (VEC-5), concurrency of writers on different ids, and the
 * exactness of the list cache (VEC-8), on seeded data and a seeded Random port.
 */
import { strict as assert } from 'node:assert';
import { Database, MemoryCoordinator, NodeFileSystem, SeededRandom, SopError, SystemClock } from '../../../src/index.js';
import type { Env, Transaction } from '../../../src/index.js';
import { listCacheOf } from '../../../src/layers/vector/index.js';
import { type Item, TempDirs, assertTopK, bruteForce, clustered, prng } from './helpers.js';

function seededEnv(seed: number): Env {
  const clock = new SystemClock();
  const random = new SeededRandom(seed);
  return { fs: new NodeFileSystem(), clock, random, coordinator: new MemoryCoordinator(clock, random) };
}

describe('vector store: re-clustering as data grows (VEC-2, VEC-4, VEC-5)', function () {
  this.timeout(300_000);
  const dirs = new TempDirs();
  let db: Database;
  before(async () => {
    db = await Database.open({ folder: dirs.make(), env: seededEnv(7) });
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  it('grows through several versions; every stage answers exactly with all lists probed and passes verify', async () => {
    const rand = prng(11);
    const d = 8;
    const vectors = clustered(rand, 900, d, 12);
    const model = new Map<string, Item>();
    const versions = new Set<number>();
    let sawBuilding = false;
    let sawDropping = false;
    await db.transaction('write', async (tx) => void (await db.newVectorStore(tx, 'grow', { dimensions: d, metric: 'l2', clusterAt: 32 })));
    for (let start = 0; start < vectors.length; start += 30) {
      await db.transaction('write', async (tx) => {
        const vs = await db.openVectorStore(tx, 'grow');
        for (let i = start; i < start + 30; i++) {
          await vs.upsert(`v${i}`, vectors[i]!, { i, even: i % 2 === 0 });
          model.set(`v${i}`, { vector: vectors[i]!, metadata: { i, even: i % 2 === 0 } });
        }
      });
      await db.transaction('read', async (tx) => {
        const vs = await db.openVectorStore(tx, 'grow');
        const info = await vs.info();
        versions.add(info.version);
        sawBuilding ||= info.building;
        sawDropping ||= info.dropping;
        assert.equal(vs.count, model.size);
        const q = vectors[Math.floor(rand() * (start + 30))]!;
        assert.deepEqual((await vs.query(q, { k: 10, nprobe: Infinity })).map((h) => h.id), bruteForce(model, 'l2', q, 10).map((h) => h.id));
        const even = (m: { even: boolean }) => m.even;
        assert.deepEqual((await vs.query(q, { k: 5, nprobe: Infinity, filter: even })).map((h) => h.id), bruteForce(model, 'l2', q, 5, even).map((h) => h.id));
        assertTopK((await vs.query(q, { k: 10, nprobe: Infinity })), model, 'l2', q, 10);
        if (start % 150 === 0) assert.deepEqual((await vs.verify()).problems, []);
      });
    }
    assert.ok(versions.size >= 4, `versions seen: ${[...versions].join(', ')}`);
    assert.ok(sawBuilding && sawDropping, 'a build and a drop in progress were observed between commits');
  });

  it('the default nprobe finds most true neighbours on clustered data (recall)', async () => {
    const rand = prng(12);
    let found = 0;
    let total = 0;
    await db.transaction('read', async (tx) => {
      const vs = await db.openVectorStore(tx, 'grow');
      const model = new Map<string, Item>();
      for (let i = 0; i < vs.count; i++) {
        const got = (await vs.get(`v${i}`))!;
        model.set(got.id, { vector: got.vector, metadata: got.metadata });
      }
      const all = [...model.values()];
      for (let t = 0; t < 40; t++) {
        const q = all[Math.floor(rand() * all.length)]!.vector;
        const truth = new Set(bruteForce(model, 'l2', q, 10).map((h) => h.id));
        for (const hit of await vs.query(q, { k: 10 })) if (truth.has(hit.id)) found++;
        total += 10;
      }
    });
    assert.ok(found / total >= 0.9, `recall@10 ${found / total}`);
  });

  it('removing most vectors, replacing others, then optimize: still exact, and verify passes', async () => {
    const rand = prng(13);
    const model = new Map<string, Item>();
    await db.transaction('write', async (tx) => {
      const vs = await db.openVectorStore(tx, 'grow');
      for (let i = 0; i < 900; i++) {
        const id = `v${i}`;
        if (i % 3 === 0) {
          assert.equal(await vs.remove(id), true);
        } else {
          const got = (await vs.get(id))!;
          const vector = i % 3 === 1 ? Float32Array.from(got.vector, (x) => x + rand() - 0.5) : got.vector;
          if (i % 3 === 1) await vs.upsert(id, vector, got.metadata);
          model.set(id, { vector, metadata: got.metadata });
        }
      }
      await vs.optimize();
      const info = await vs.info();
      assert.equal(info.building || info.dropping, false, 'optimize finishes the build and the drop');
      assert.equal(vs.count, model.size);
      assert.deepEqual((await vs.verify()).problems, []);
    });
    await db.transaction('read', async (tx) => {
      const vs = await db.openVectorStore(tx, 'grow');
      for (let t = 0; t < 10; t++) {
        const q = Float32Array.from({ length: 8 }, () => rand() * 2 - 1);
        assert.deepEqual((await vs.query(q, { k: 7, nprobe: Infinity })).map((h) => h.id), bruteForce(model, 'l2', q, 7).map((h) => h.id));
      }
    });
  });
});

describe('vector store: concurrent writers and the list cache (VEC-1, VEC-8)', function () {
  this.timeout(300_000);
  const dirs = new TempDirs();
  let db: Database;
  let env: Env;
  before(async () => {
    env = seededEnv(21);
    db = await Database.open({ folder: dirs.make(), env });
    await db.transaction('write', async (tx) => {
      const vs = await db.newVectorStore(tx, 'c', { dimensions: 4, metric: 'cosine', clusterAt: 16 });
      const rand = prng(3);
      for (let i = 0; i < 200; i++) await vs.upsert(`base${i}`, Float32Array.from({ length: 4 }, () => rand() - 0.5));
      await vs.optimize();
    });
  });
  after(async () => {
    await db.close();
    dirs.cleanup();
  });

  it('two transactions upserting different ids usually both commit (no hot key every write updates)', async () => {
    const rand = prng(4);
    let conflicts = 0;
    const trials = 40;
    for (let t = 0; t < trials; t++) {
      const a = await db.beginTransaction('write');
      const b = await db.beginTransaction('write');
      await (await db.openVectorStore(a, 'c')).upsert(`a${t}`, Float32Array.from({ length: 4 }, () => rand() - 0.5));
      await (await db.openVectorStore(b, 'c')).upsert(`b${t}`, Float32Array.from({ length: 4 }, () => rand() - 0.5));
      await a.commit();
      try {
        await b.commit();
      } catch (error) {
        assert.ok(SopError.is(error, 'CONFLICT'), String(error));
        conflicts++;
      }
    }
    assert.ok(conflicts <= trials / 4, `${conflicts} of ${trials} pairs conflicted`);
    await db.transaction('read', async (tx) => assert.deepEqual((await (await db.openVectorStore(tx, 'c')).verify()).problems, []));
  });

  it('many concurrent db.transaction writers: all commit (retries), nothing lost, index exact', async () => {
    const rand = prng(5);
    const writers = Array.from({ length: 8 }, (_, w) =>
      db.transaction('write', async (tx) => {
        const vs = await db.openVectorStore(tx, 'c');
        for (let i = 0; i < 5; i++) await vs.upsert(`w${w}-${i}`, Float32Array.from({ length: 4 }, () => rand() - 0.5), { w });
      }, { retries: 50 }),
    );
    await Promise.all(writers);
    await db.transaction('read', async (tx) => {
      const vs = await db.openVectorStore(tx, 'c');
      for (let w = 0; w < 8; w++) for (let i = 0; i < 5; i++) assert.deepEqual((await vs.get(`w${w}-${i}`))?.metadata, { w });
      assert.deepEqual((await vs.verify()).problems, []);
    });
  });

  it('a cached list is never served after another transaction changed it, nor after a rollback (VEC-8)', async () => {
    const cache = listCacheOf(env);
    const q = new Float32Array([1, 2, 3, 4]);
    const read = () => db.transaction('read', async (tx) => (await (await db.openVectorStore(tx, 'c')).query(q, { k: 5, nprobe: Infinity })).map((h) => h.id));
    cache.clear();
    const cold = await read();
    assert.ok(cache.size > 0, 'the first query filled the cache');
    assert.deepEqual(await read(), cold, 'served from the cache: the same answer');
    // Another transaction puts the best possible match in: the next query must see it.
    await db.transaction('write', async (tx) => (await db.openVectorStore(tx, 'c')).upsert('best', q));
    assert.deepEqual((await read())[0], 'best');
    // Its own writes are visible inside a transaction; a rollback makes them vanish again.
    const tx = await db.beginTransaction('write');
    const vs = await db.openVectorStore(tx, 'c');
    assert.equal(await vs.remove('best'), true);
    await vs.upsert('best2', q.map((x) => x * 2));
    assert.deepEqual((await vs.query(q, { k: 1, nprobe: Infinity })).map((h) => h.id), ['best2']);
    await tx.rollback();
    assert.deepEqual((await read())[0], 'best');
    // And every answer equals the one computed with an empty cache.
    const warm = await read();
    cache.clear();
    assert.deepEqual(await read(), warm);
  });

  it('lists are cached only once their transaction commits with its reads validated: never by nocheck, rollback or failure (VEC-8; sim seed 1981525210)', async () => {
    // Reads are no snapshot: a query may read a list's new stamps and its old entries (nodes it
    // read before a concurrent commit). Only validation at commit tells; a 'nocheck' query in the
    // simulator cached an empty list under the stamps of the commit that put v1 in it, and every
    // later query of that database missed v1.
    const cache = listCacheOf(env);
    const q = new Float32Array([4, 3, 2, 1]);
    const query = async (tx: Transaction) => (await (await db.openVectorStore(tx, 'c')).query(q, { k: 3, nprobe: Infinity })).map((h) => h.id);
    cache.clear();
    await db.transaction('nocheck', query);
    assert.equal(cache.size, 0, 'a nocheck transaction cached lists');
    const reader = await db.beginTransaction('read');
    const cold = await query(reader);
    assert.equal(cache.size, 0, 'cached before its commit validated the reads');
    assert.deepEqual(await query(reader), cold, 'the same transaction reuses what it read');
    await reader.rollback();
    assert.equal(cache.size, 0, 'a rolled-back transaction cached lists');
    const stale = await db.beginTransaction('read');
    await query(stale);
    await db.transaction('write', async (tx) => (await db.openVectorStore(tx, 'c')).upsert('fresh', q));
    await assert.rejects(stale.commit(), (e: unknown) => SopError.is(e, 'CONFLICT'));
    assert.equal(cache.size, 0, 'a transaction whose validation failed cached lists');
    const warm = await db.transaction('read', query);
    assert.ok(cache.size > 0, 'a validated read transaction fills the cache');
    assert.equal(warm[0], 'fresh');
    assert.deepEqual(await db.transaction('read', query), warm, 'served from the cache: the same answer');
  });

  it('a writer caches nothing it reads from a list slot it changed, whichever version it reads there (VEC-8; sim seed 1100108531)', async () => {
    // Versions v and v + 2 keep their lists in one slot tree, keyed without the version, and a
    // transaction reads its own copies of the nodes it changed. Reads are no snapshot: a writer
    // that changed version v can see two re-clusterings commit meanwhile, then reads version
    // v + 2 through its copies of the slot (version v entries, its own uncommitted one among
    // them). Cached, that content outlived the writer: in the simulator its entry was read under
    // version v + 2's committed stamps, a ghost in every later query.
    const env = seededEnv(31);
    const local = await Database.open({ folder: dirs.make(), env });
    try {
      const rand = prng(6);
      const q = new Float32Array([1, 2, 3, 4]);
      const base = new Map<string, Item>();
      await local.transaction('write', async (tx) => {
        const vs = await local.newVectorStore(tx, 's', { dimensions: 4, metric: 'l2', clusterAt: 10_000 });
        for (let i = 0; i < 50; i++) {
          const vector = Float32Array.from({ length: 4 }, () => rand() * 10 - 5);
          base.set(`base${i}`, { vector });
          await vs.upsert(`base${i}`, vector);
        }
        await vs.optimize();
      });
      const optimize = () => local.transaction('write', async (tx) => (await local.openVectorStore(tx, 's')).optimize());
      const version = () => local.transaction('read', async (tx) => (await (await local.openVectorStore(tx, 's')).info()).version);
      const read = () => local.transaction('read', async (tx) => (await (await local.openVectorStore(tx, 's')).query(q, { k: 5, nprobe: Infinity })).map((h) => h.id));
      const v = await version();
      const writer = await local.beginTransaction('write');
      await (await local.openVectorStore(writer, 's')).upsert('ghost', q); // into version v's slot
      await optimize();
      await optimize();
      assert.equal(await version(), v + 2, 'two re-clusterings committed meanwhile: version v + 2, in the slot of version v, is active');
      const cache = listCacheOf(env);
      cache.clear();
      try {
        await (await local.openVectorStore(writer, 's')).query(q, { k: 5, nprobe: Infinity }); // version v + 2, through its copies of the slot
      } catch (error) {
        assert.ok(SopError.is(error, 'CONFLICT'), String(error));
      }
      assert.equal(cache.size, 0, 'the writer cached lists read from the slot it changed');
      await writer.rollback();
      const expected = bruteForce(base, 'l2', q, 5).map((h) => h.id);
      assert.deepEqual(await read(), expected, 'a reader after the rollback: brute force, no ghost');
      assert.deepEqual(await read(), expected, 'the same from the cache');
      await local.transaction('read', async (tx) => assert.deepEqual((await (await local.openVectorStore(tx, 's')).verify()).problems, []));
    } finally {
      await local.close();
    }
  });
});
