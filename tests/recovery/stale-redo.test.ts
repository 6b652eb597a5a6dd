/**
 * A redo acts on a priority log it read earlier, which another process may have finished and
 * removed since (clustered mode, REC-2, STRUCT-2). Versions make a stale update or delete a
 * no-op, but not a stale add: found by the clustered seed 1981525731, where a take-over redid a
 * transaction after its log was gone and a later commit had removed a node the transaction
 * added; the handle came back, reachable from nothing.
 */
import { strict as assert } from 'node:assert';
import { realEnv } from '../../src/adapters/real-env.js';
import { newHandle } from '../../src/registry/handle.js';
import type { StoreInfo } from '../../src/store/store-info.js';
import { StoreRepository } from '../../src/store/store-repository.js';
import { type PriorityLog, writePriorityLog } from '../../src/txn/logs.js';
import { unlinkIfPresent } from '../../src/util/durable-file.js';
import { recover, redo, scanLogs } from '../../src/txn/recovery.js';
import { redoDeadCommits } from '../../src/txn/cluster-recovery.js';
import { ensureDurableDir, joinPath, plgPath, redonePath } from '../../src/util/paths.js';
import { TempDirs } from '../ec/helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

function info(name: string, rootId: string): StoreInfo {
  return {
    name, slotLength: 8, isUnique: true, valueInNode: true, keyOrder: { kind: 'natural' }, customComparer: false,
    description: '', rootId, count: 0, commitSeq: 0, createdAt: 0, updatedAt: 0,
  };
}

/** A store, and the priority log of a transaction that adds one node handle to it (not written yet). */
async function aStoreAndAnAdd() {
  const env = realEnv();
  const folder = dirs.make('sop-stale-redo-');
  const translogs = joinPath(folder, 'translogs');
  await ensureDurableDir(env.fs, translogs);
  const repo = new StoreRepository(env, folder, 16);
  await repo.init();
  const store = await repo.create(env.random.uuid(), info('s', env.random.uuid()));
  const added = newHandle(env.random.uuid(), env.random.uuid(), 0);
  const log: PriorityLog = { tid: env.random.uuid(), seq: 1, obsolete: [], stores: [{ name: 's', count: -1, changes: [{ id: added.logicalId, before: null, after: added }] }] };
  return { env, folder, translogs, repo, store, added, log };
}

describe('recovery: a stale priority log is not redone (REC-2, STRUCT-2; seed 1981525731)', () => {
  it('an add redone after its log was finished and removed, and its node removed by a later commit, stays removed', async () => {
    const { env, folder, translogs, repo, store, added, log } = await aStoreAndAnAdd();

    // The first finisher redoes it and removes the log (its step log went first).
    await writePriorityLog(env, translogs, log);
    await redo(env, repo, log, translogs);
    assert.equal(store.registry.get(added.logicalId)?.version, added.version, 'the redo applied the add');
    await unlinkIfPresent(env, plgPath(translogs, log.tid));
    // A later commit removes the node.
    store.registry.publish(await store.registry.write(env.random.uuid(), [{ id: added.logicalId, before: added, after: null }], 'commit'));
    assert.equal(store.registry.get(added.logicalId), undefined);

    // A second recoverer read the log before it went: its redo must not bring the handle back.
    await redo(env, repo, log, translogs);
    assert.equal(store.registry.get(added.logicalId), undefined, 'a stale redo resurrected a removed handle');
    await repo.close();
    const again = new StoreRepository(env, folder, 16);
    await again.init();
    assert.equal((await again.get('s'))!.registry.get(added.logicalId), undefined, 'on disk too');
    await again.close();
  });

  it('clustered: a dead commit a committer redid is marked, and not redone again after a later commit removed its add (seed 976556146)', async () => {
    const { env, folder, translogs, repo, store, added, log: dead } = await aStoreAndAnAdd();
    const nobodyLives = async (): Promise<boolean> => false;

    // A committer finds the dead transaction's priority log and redoes it before validating.
    await writePriorityLog(env, translogs, dead);
    assert.equal(await redoDeadCommits(env, translogs, repo, env.random.uuid(), nobodyLives), 1);
    assert.equal(store.registry.get(added.logicalId)?.version, added.version, 'the redo applied the add');
    assert.notEqual(await env.fs.stat(redonePath(translogs, dead.tid)), null, 'the redo is marked');
    // A later commit removes the node; the priority log is still there, waiting for recovery.
    store.registry.publish(await store.registry.write(env.random.uuid(), [{ id: added.logicalId, before: added, after: null }], 'commit'));
    await store.registry.sync();

    // The next committer, and then recovery, must not bring the handle back.
    assert.equal(await redoDeadCommits(env, translogs, repo, env.random.uuid(), nobodyLives), 0);
    assert.equal(store.registry.get(added.logicalId), undefined, 'a second redo resurrected a removed handle');
    await recover(env, translogs, repo, await scanLogs(env, translogs, () => false));
    assert.equal(store.registry.get(added.logicalId), undefined, 'recovery resurrected a removed handle');
    assert.equal(await env.fs.stat(plgPath(translogs, dead.tid)), null, 'recovery removed the priority log');
    assert.equal(await env.fs.stat(redonePath(translogs, dead.tid)), null, 'and its mark');
    await repo.close();
    const again = new StoreRepository(env, folder, 16);
    await again.init();
    assert.equal((await again.get('s'))!.registry.get(added.logicalId), undefined, 'on disk too');
    await again.close();
  });

  it('a redone mark whose priority log is gone is removed by the next scan', async () => {
    const env = realEnv();
    const translogs = joinPath(dirs.make('sop-stale-redo-'), 'translogs');
    await ensureDurableDir(env.fs, translogs);
    const tid = env.random.uuid();
    await (await env.fs.open(redonePath(translogs, tid), 'createNew')).close();
    assert.deepEqual(await scanLogs(env, translogs, () => false), []);
    assert.equal(await env.fs.stat(redonePath(translogs, tid)), null);
  });
});
