import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { FaultyFileSystem, plans } from '../../fault-injection/faulty-fs.js';
import { NodeFileSystem } from '../../src/adapters/node-file-system.js';
import { realEnv } from '../../src/adapters/real-env.js';
import { BlobStore } from '../../src/blobs/blob-store.js';
import { decodeNode } from '../../src/codec/node-codec.js';
import { ErasureBlobStore } from '../../src/ec/erasure-blob-store.js';
import { blobsFactory } from '../../src/ec/factory.js';
import { SopError } from '../../src/errors/sop-error.js';
import type { Env } from '../../src/ports/env.js';
import { activePhysical } from '../../src/registry/handle.js';
import type { StoreInfo } from '../../src/store/store-info.js';
import { StoreRepository } from '../../src/store/store-repository.js';
import { TempDirs, makeDrives } from './helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

function info(name: string, env: Env): StoreInfo {
  const now = env.clock.now();
  return {
    name, slotLength: 8, isUnique: true, valueInNode: true, keyOrder: { kind: 'natural' }, customComparer: false,
    description: '', rootId: env.random.uuid(), count: 0, commitSeq: 0, createdAt: now, updatedAt: now,
  };
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

async function ecRepo(env: Env = realEnv()): Promise<{ repo: StoreRepository; folder: string; drives: string[] }> {
  const folder = dirs.make();
  const drives = makeDrives(dirs, 3);
  const repo = new StoreRepository(env, folder, 16, blobsFactory(env, { dataShards: 2, parityShards: 1, drives }));
  await repo.init();
  return { repo, folder, drives };
}

describe('ec/store-repository: blobs from a factory (STORE-1, STORE-2, EC-1)', () => {
  it('without erasure coding, blobs stay in <store>/blobs as before', async () => {
    const env = realEnv();
    const folder = dirs.make();
    const repo = new StoreRepository(env, folder, 16);
    await repo.init();
    const store = await repo.create(env.random.uuid(), info('plain', env));
    assert.ok(store.blobs instanceof BlobStore);
    assert.equal(store.blobs.dir, path.join(folder, 'stores', 'plain', 'blobs'));
    const ids = await store.blobs.list();
    assert.equal(ids.length, 1);
    assert.ok(fs.existsSync(path.join(folder, 'stores', 'plain', 'blobs', ids[0]!.slice(0, 2), ids[0]!)));
    await repo.close();
  });

  it('with erasure coding, a new store puts its root node on the drives, readable with a drive gone', async () => {
    const env = realEnv();
    const { repo, folder, drives } = await ecRepo(env);
    const store = await repo.create(env.random.uuid(), info('users', env));
    assert.ok(store.blobs instanceof ErasureBlobStore);
    assert.equal(fs.existsSync(path.join(folder, 'stores', 'users', 'blobs')), false, 'no local blob folder');
    const [root] = [...store.registry.handles()];
    const physical = activePhysical(root!);
    assert.deepEqual(await store.blobs.list(), [physical]);
    for (const [d, drive] of drives.entries()) assert.ok(fs.existsSync(path.join(drive, 'users', 'blobs', physical.slice(0, 2), `${physical}.${d}`)));
    await repo.close();

    fs.rmSync(drives[0]!, { recursive: true, force: true });
    const again = new StoreRepository(env, folder, 16, blobsFactory(env, { dataShards: 2, parityShards: 1, drives }));
    await again.init();
    const reopened = (await again.get('users'))!;
    assert.equal(decodeNode((await reopened.blobs.get(physical))!, root!.logicalId).kind, 'leaf');
    await again.close();
  });

  it('creation is STORE_EXISTS the second time; removal deletes the store folder on every drive', async () => {
    const env = realEnv();
    const { repo, drives } = await ecRepo(env);
    await repo.create(env.random.uuid(), info('orders', env));
    await repo.create(env.random.uuid(), info('keep', env));
    await assert.rejects(repo.create(env.random.uuid(), info('orders', env)), (e: unknown) => SopError.is(e, 'STORE_EXISTS'));
    assert.equal(filesUnder(path.join(drives[0]!, 'orders')).length, 1, 'the failed creation left no root blob');
    assert.equal(await repo.remove('orders'), true);
    for (const drive of drives) assert.deepEqual(fs.readdirSync(drive), ['keep']);
    assert.deepEqual(await repo.names(), ['keep']);
    await repo.close();
  });

  it('a failed creation deletes the root blob it wrote on the drives (STORE-1)', async () => {
    const base = realEnv();
    const faulty = new FaultyFileSystem(new NodeFileSystem(), plans.none());
    const env = { ...base, fs: faulty };
    const { repo, drives, folder } = await ecRepo(env);
    faulty.plan = plans.failPaths(/\.creating-/, ['rename']);
    await assert.rejects(repo.create(env.random.uuid(), info('broken', env)), (e: unknown) => SopError.is(e, 'IO'));
    faulty.plan = plans.none();
    for (const drive of drives) assert.deepEqual(filesUnder(drive), []);
    assert.deepEqual(fs.readdirSync(path.join(folder, 'stores')), []);
    await repo.close();
  });

  it('a failed creation whose root blob could not be deleted is finished by the next sweep, not only at open (STORE-1; seed 1001795900)', async () => {
    const base = realEnv();
    const faulty = new FaultyFileSystem(new NodeFileSystem(), plans.none());
    const env = { ...base, fs: faulty };
    const { repo, drives, folder } = await ecRepo(env);
    // The rename fails, then the drives refuse the clean-up's unlinks (a disk outage starting in between).
    faulty.plan = (call) => plans.failPaths(/\.creating-/, ['rename'])(call) ?? plans.failPaths(/[\\/]broken[\\/]/, ['unlink', 'removeTree'])(call);
    await assert.rejects(repo.create(env.random.uuid(), info('broken', env)), (e: unknown) => SopError.is(e, 'IO'));
    faulty.plan = plans.none();
    assert.equal(drives.reduce((n, d) => n + filesUnder(path.join(d, 'broken')).length, 0), 3, 'the root blob\'s shards are still there');
    assert.equal(fs.readdirSync(path.join(folder, 'stores')).length, 1, 'the hidden folder marks them for deletion');
    await repo.clearHidden(); // what a sweep runs (txn/maintenance.ts)
    for (const drive of drives) assert.deepEqual(filesUnder(drive), []);
    assert.deepEqual(fs.readdirSync(path.join(folder, 'stores')), []);
    await repo.close();
  });

  it('open finishes a removal or creation that crashed, without touching a live store of that name', async () => {
    const env = realEnv();
    const { repo, folder, drives } = await ecRepo(env);
    await repo.create(env.random.uuid(), info('gone', env));
    await repo.create(env.random.uuid(), info('alive', env));
    await repo.create(env.random.uuid(), info('half', env));
    await repo.close();
    const stores = path.join(folder, 'stores');
    // A removal that crashed after its rename (STORE-2), and creations that crashed before theirs (STORE-1).
    fs.renameSync(path.join(stores, 'gone'), path.join(stores, '.removing-2f1c4b9e-1111-4222-8333-444455556666'));
    fs.renameSync(path.join(stores, 'half'), path.join(stores, `.creating-${env.random.uuid()}-half`));
    fs.mkdirSync(path.join(stores, `.creating-${env.random.uuid()}-alive`));
    const again = new StoreRepository(env, folder, 16, blobsFactory(env, { dataShards: 2, parityShards: 1, drives }));
    await again.init();
    assert.deepEqual(fs.readdirSync(stores), ['alive']);
    for (const drive of drives) assert.deepEqual(fs.readdirSync(drive), ['alive']);
    assert.equal((await (await again.get('alive'))!.blobs.list()).length, 1);
    await again.close();
  });

  it('a bad erasureCoding option is INVALID_ARGUMENT', () => {
    assert.throws(() => blobsFactory(realEnv(), { dataShards: 2, parityShards: 1, drives: ['/a', '/b'] }), (e: unknown) => SopError.is(e, 'INVALID_ARGUMENT'));
  });
});
