/**
 * Background failures are observable (API-1, IDLE-1). Found from outside on a887733: errors of
 * sweeps, repairs, checkpoints and cleanups were dropped without a trace. Each now either
 * surfaces to its caller or becomes an incident (`db.incidents()`, `db.onIncident`).
 */
import { strict as assert } from 'node:assert';
import { FaultyFileSystem, ioError } from '../../fault-injection/faulty-fs.js';
import { realEnv } from '../../src/adapters/real-env.js';
import { Database } from '../../src/database/database.js';
import type { Incident } from '../../src/util/incidents.js';
import { TempDirs } from '../ec/helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

describe('incidents: background failures are reported (API-1, IDLE-1)', () => {
  it('a cleanup that fails after a commit is an incident; the commit stands and a sweep finishes the cleanup', async () => {
    const base = realEnv();
    let failUnlinks = false;
    const fs = new FaultyFileSystem(base.fs, (call) => (failUnlinks && call.op === 'unlink' ? ioError('EIO', call) : null));
    // In place: a commit's cleanup (deleting obsolete blobs) runs after it; in journal mode the checkpoint does it.
    const db = await Database.open({ folder: dirs.make('sop-inc-'), env: { ...base, fs }, journal: false });
    const seen: Incident[] = [];
    const stop = db.onIncident((i) => seen.push(i));
    await db.transaction('write', async (tx) => void (await (await db.newBtree<number, number>(tx, 's', { slotLength: 4 })).add(1, 1)));
    failUnlinks = true;
    await db.transaction('write', async (tx) => void (await (await db.openBtree<number, number>(tx, 's')).update(1, 2)));
    failUnlinks = false;
    assert.ok(seen.length > 0, 'the failed cleanup was reported');
    assert.ok(seen.every((i) => /^cleanup of /.test(i.where) && /EIO/.test(i.message)), JSON.stringify(seen));
    assert.deepEqual(db.incidents().slice(-seen.length), seen);
    stop();
    const report = await db.sweep();
    assert.ok(report && report.cleaned >= 1, 'the sweep finished the cleanup');
    assert.equal((await db.checkStore('s')).orphanBlobs, 0);
    assert.equal(seen.length, db.incidents().length, 'no listener call after stop()');
    await db.close();
  });

  it('a sweep that fails when a transaction begins is an incident, not the caller’s error', async () => {
    const base = realEnv();
    let failReaddir = false;
    const fs = new FaultyFileSystem(base.fs, (call) => (failReaddir && call.op === 'readdir' && call.path.endsWith('/translogs') ? ioError('EIO', call) : null));
    const db = await Database.open({ folder: dirs.make('sop-inc-'), env: { ...base, fs }, maintenance: { sweepIntervalMs: 0, busySweepIntervalMs: 0 } });
    failReaddir = true;
    const tx = await db.beginTransaction('read'); // the due sweep fails; the transaction still begins
    await tx.commit();
    failReaddir = false;
    assert.ok(db.incidents().some((i) => i.where === 'sweep' && i.code === 'EIO'), JSON.stringify(db.incidents()));
    await db.close();
  });
});
