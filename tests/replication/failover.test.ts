/**
 * Active/passive replication on real folders with drive-level faults (spec REPL-1, REPL-2,
 * REPL-4): a drive that dies mid-workload fails over without losing an acknowledged commit,
 * the failover survives a cold restart, a failing passive drive leaves replication, and errors
 * that do not qualify roll the transaction back without a failover.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { Database } from '../../src/database/database.js';
import { SopError } from '../../src/errors/sop-error.js';
import { isFailoverQualified } from '../../src/replication/qualify.js';
import { Drives, STORE, TempDirs, assertHolds, drivePair, openReplicated, writeItems } from './helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

describe('replication: failover (REPL-1, REPL-2, REPL-4)', () => {
  it('a new replicated database mirrors every commit: both folders byte-identical', async () => {
    const pair = drivePair(dirs);
    const db = await openReplicated(pair);
    const { acked } = await writeItems(db, 0, 10);
    assert.equal(acked.length, 50);
    assert.equal(db.replicationStatus()!.passiveState, 'in-sync');
    assert.deepEqual(await db.compareReplicas(), []);
    await db.close();
  });

  // In place a commit makes about 30 calls on the active drive, in journal mode (the default) about 3: each
  // protocol is cut at its first commits, in the middle and near the end of the 40 commits.
  for (const [journal, atCall] of [[false, 40], [false, 400], [false, 1200], [true, 12], [true, 40], [true, 110]] as const) {
    it(`${journal ? 'journal mode' : 'in place'}: the active drive dies at its ${atCall}th call after open: failover, no acknowledged commit lost, kept across a cold restart (REPL-2)`, async () => {
      const pair = drivePair(dirs);
      const drives = new Drives();
      let db = await openReplicated(pair, drives, { journal });
      const before = await writeItems(db, 0, 4);
      let calls = 0;
      const plan = drives.fs.plan;
      drives.fs.plan = (call) => {
        if (call.path.startsWith(pair.a) && ++calls === atCall) drives.failing.set(pair.a, 'EIO');
        return plan(call);
      };
      const during = await writeItems(db, 1_000, 40);
      const acked = [...before.acked, ...during.acked];
      assert.equal(during.failed, 0, 'a failover is invisible to the transactions');
      const status = db.replicationStatus()!;
      assert.equal(status.active, pair.b, `failed over (${calls} calls on drive a)`);
      assert.equal(status.passiveState, 'failed');
      assert.equal(status.failedOver, true);
      assert.ok(status.events.some((e) => e.kind === 'failover' && /EIO/.test(e.reason)), JSON.stringify(status.events));
      await assertHolds(db, acked);
      await db.close();
      // Cold restart, drive a still dead: the status on drive b (higher epoch) wins.
      db = await openReplicated(pair, drives);
      assert.equal(db.replicationStatus()!.active, pair.b);
      await assertHolds(db, acked);
      const after = await writeItems(db, 5_000, 3);
      await db.close();
      // Drive a comes back with its stale copy: it stays passive and failed (REPL-1), nothing is served from it.
      drives.failing.clear();
      db = await openReplicated(pair, drives);
      assert.equal(db.replicationStatus()!.active, pair.b);
      assert.equal(db.replicationStatus()!.passiveState, 'failed');
      await assertHolds(db, [...acked, ...after.acked]);
      await db.close();
    });
  }

  it('a failing passive drive leaves replication; commits go on; the status is durable (REPL-4)', async () => {
    const pair = drivePair(dirs);
    const drives = new Drives();
    let db = await openReplicated(pair, drives);
    const first = await writeItems(db, 0, 3);
    drives.failing.set(pair.b, 'ENOSPC');
    const second = await writeItems(db, 100, 5);
    assert.equal(second.failed, 0);
    assert.equal(db.replicationStatus()!.passiveState, 'failed');
    assert.equal(db.replicationStatus()!.active, pair.a);
    await db.close();
    drives.failing.clear();
    db = await openReplicated(pair, drives);
    assert.equal(db.replicationStatus()!.passiveState, 'failed', 'a healed passive is not trusted until reinstated');
    await assertHolds(db, [...first.acked, ...second.acked]);
    await db.close();
  });

  it('an error that does not qualify rolls the transaction back, without failover (REPL-4)', async () => {
    const pair = drivePair(dirs);
    const drives = new Drives();
    // In place: the refused writes come before the commit point, so the transaction rolls back and
    // the database goes on. In journal mode the refused write is the journal append, the commit
    // point itself: its outcome is unknown and the database stops until reopened (REC-5).
    const db = await openReplicated(pair, drives, { journal: false });
    const first = await writeItems(db, 0, 2);
    // The same request refused on both drives (permissions): a request error, the replicas stay equal.
    drives.failing.set(path.join(pair.a, 'translogs'), 'EACCES');
    drives.failing.set(path.join(pair.b, 'translogs'), 'EACCES');
    const failed = await writeItems(db, 100, 1);
    assert.equal(failed.failed, 1, 'the commit failed');
    drives.failing.clear();
    assert.equal(db.replicationStatus()!.active, pair.a);
    assert.equal(db.replicationStatus()!.passiveState, 'in-sync');
    await assertHolds(db, first.acked);
    assert.deepEqual(await db.compareReplicas(), []);
    // Refused on the active drive only: no failover, but the passive accepted what the active
    // refused, so it is no longer a copy and leaves replication.
    drives.failing.set(path.join(pair.a, 'translogs'), 'EACCES');
    assert.equal((await writeItems(db, 200, 1)).failed, 1);
    drives.failing.clear();
    assert.equal(db.replicationStatus()!.active, pair.a);
    assert.equal(db.replicationStatus()!.passiveState, 'failed');
    assert.ok(db.replicationStatus()!.events.some((e) => e.kind === 'passive-failed' && /accepted what the active refused/.test(e.reason)));
    await assertHolds(db, first.acked);
    await db.close();
  });

  it('both drives failing: commits fail with a typed error, nothing acknowledged is lost', async () => {
    const pair = drivePair(dirs);
    const drives = new Drives();
    let db = await openReplicated(pair, drives);
    const first = await writeItems(db, 0, 2);
    drives.failing.set(pair.a, 'EIO');
    drives.failing.set(pair.b, 'EIO');
    await assert.rejects(
      db.transaction('write', async (tx) => (await db.openBtree<number, string>(tx, STORE)).add(999, 'x')),
      (e: unknown) => e instanceof SopError && ['IO', 'UNAVAILABLE'].includes(e.code),
    );
    await db.close();
    drives.failing.clear();
    db = await openReplicated(pair, drives);
    await assertHolds(db, first.acked);
    await db.close();
  });

  it('the qualifying errors are the documented ones', () => {
    for (const code of ['EIO', 'ENOSPC', 'EROFS', 'ENODEV', 'ENXIO', 'EDQUOT', 'EUCLEAN', 'ENOMEDIUM']) assert.equal(isFailoverQualified({ code }), true, code);
    for (const code of ['ENOENT', 'EEXIST', 'EACCES', 'EINVAL', 'EISDIR', 'ETIMEDOUT']) assert.equal(isFailoverQualified({ code }), false, code);
    assert.equal(isFailoverQualified({ errno: -121 }), true);
    assert.equal(isFailoverQualified(new Error('EPERM: read-only file system')), true);
  });

  it('bad options are typed errors; the drive roles are fixed (REPL-1)', async () => {
    const pair = drivePair(dirs);
    await assert.rejects(Database.open({ folder: pair.a, replication: { passive: path.join(pair.a, 'inner') } }), code('INVALID_ARGUMENT'));
    await assert.rejects(Database.open({ folder: pair.a, replication: { passive: '' } }), code('INVALID_ARGUMENT'));
    await assert.rejects(Database.open({ folder: pair.a, mode: 'clustered', redis: 'redis://127.0.0.1:1', replication: { passive: pair.b } }), code('INVALID_ARGUMENT', 'UNAVAILABLE'));
    const db = await openReplicated(pair);
    await db.close();
    await assert.rejects(Database.open({ folder: pair.b, replication: { passive: pair.a } }), code('INVALID_ARGUMENT'));
  });

  it('the active drive without its status refuses to open rather than serve the stale copy (REPL-1)', async () => {
    const pair = drivePair(dirs);
    const drives = new Drives();
    let db = await openReplicated(pair, drives);
    await writeItems(db, 0, 2);
    drives.failing.set(pair.a, 'EIO');
    await writeItems(db, 100, 2);
    await db.close();
    drives.failing.clear();
    fs.rmSync(path.join(pair.b, 'replication.status'));
    await assert.rejects(openReplicated(pair, drives), (e: unknown) => e instanceof SopError && e.code === 'UNAVAILABLE' && /cannot be told/.test(e.message));
  });
});

function code(...codes: string[]) {
  return (e: unknown) => e instanceof SopError && codes.includes(e.code);
}
