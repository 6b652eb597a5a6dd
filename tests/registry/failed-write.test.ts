/**
 * A registry write whose persist fails has already moved the in-memory locations of the
 * handles it stages; a later reload must still make the published view equal the disk
 * (CLU-1, STRUCT-2). Found by the clustered seed 1713004302: a redo's sector sync failed after
 * its sector writes, a retry found everything applied, and the deleted handle stayed published
 * for good, so checkStore reported it as a leak.
 */
import { strict as assert } from 'node:assert';
import { FaultyFileSystem, plans } from '../../fault-injection/faulty-fs.js';
import { NodeFileSystem } from '../../src/adapters/node-file-system.js';
import { realEnv } from '../../src/adapters/real-env.js';
import { newHandle } from '../../src/registry/handle.js';
import { Registry } from '../../src/registry/registry.js';
import { TempDirs } from '../ec/helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

describe('registry: a failed write then a reload (CLU-1, STRUCT-2; seed 1713004302)', () => {
  it('a delete whose sync failed after its sector write is not left published once reloaded', async () => {
    const faulty = new FaultyFileSystem(new NodeFileSystem(), plans.none());
    const env = { ...realEnv(), fs: faulty };
    const dir = dirs.make('sop-reg-fail-');
    const reg = await Registry.create(env, dir, 's', 4);
    const h = newHandle(env.random.uuid(), env.random.uuid(), 0);
    reg.publish(await reg.write(env.random.uuid(), [{ id: h.logicalId, before: null, after: h }], 'commit'));
    // The sector write lands (page cache), its sync fails: the write rejects and publishes nothing.
    faulty.plan = plans.failPaths(/\.reg$/, ['datasync', 'sync']);
    await assert.rejects(reg.write(env.random.uuid(), [{ id: h.logicalId, before: h, after: null }], 'redo'));
    faulty.plan = plans.none();
    assert.equal(reg.get(h.logicalId)?.version, h.version, 'not published: the write failed');
    await reg.reload(); // what clustered refreshes do: the disk no longer holds the handle
    assert.equal(reg.get(h.logicalId), undefined, 'a handle the disk no longer holds stayed published');
    await reg.close();
  });
});
