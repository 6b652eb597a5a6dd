/**
 * Replication statuses that could not be recorded whole (REPL-1). Found from outside on
 * a887733: seed 910094 (a failover whose status reached the new active drive but whose folder
 * sync failed was abandoned, the old active went on with the same epoch, and a later open chose
 * the half-written failover: 8 acknowledged commits lost) and seed 910313 (a reinstate recorded
 * 'in-sync' on the passive drive only; the drives kept different statuses for good).
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { ioError } from '../../fault-injection/faulty-fs.js';
import { realEnv } from '../../src/adapters/real-env.js';
import { SopError } from '../../src/errors/sop-error.js';
import { encodeStatus, readStatus } from '../../src/replication/status.js';
import { Drives, TempDirs, assertHolds, drivePair, openReplicated, writeItems } from './helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

describe('replication: statuses that could not be recorded (REPL-1; seeds 910094, 910313)', () => {
  it('a failover that cannot be recorded stops the database; the reopen keeps every acknowledged commit', async () => {
    const pair = drivePair(dirs);
    const drives = new Drives();
    const db = await openReplicated(pair, drives);
    const before = await writeItems(db, 0, 3);
    // Drive a fails; drive b takes the new status file but not the sync of its folder.
    drives.failing.set(pair.a, 'EIO');
    const plan = drives.fs.plan;
    drives.fs.plan = (call) => (call.op === 'syncDir' && call.path === pair.b ? ioError('EIO', call) : plan(call));
    const during = await writeItems(db, 100, 3);
    assert.equal(during.acked.length, 0, 'nothing is acknowledged while the failover is not recorded');
    assert.ok(SopError.is(db.failure, 'UNAVAILABLE') && /could not be recorded/.test(db.failure.message), String(db.failure));
    assert.ok(db.replicationStatus()!.events.some((e) => e.kind === 'stopped'));
    await assert.rejects(db.beginTransaction('write'), (e: unknown) => SopError.is(e, 'UNAVAILABLE'));
    await db.close();
    drives.failing.clear();
    drives.fs.plan = plan;
    const again = await openReplicated(pair, drives);
    await assertHolds(again, before.acked);
    const after = await writeItems(again, 200, 2);
    assert.equal(after.acked.length, 10);
    await assertHolds(again, [...before.acked, ...after.acked]);
    await again.close();
  });

  it('a status newer on the passive drive than on the active one is written to the active drive at open', async () => {
    const pair = drivePair(dirs);
    const db = await openReplicated(pair);
    const { acked } = await writeItems(db, 0, 2);
    await db.close();
    const b = (await readStatus(realEnv().fs, pair.b)).status!;
    // What a reinstate leaves when 'in-sync' reached the passive drive but not the active one.
    fs.writeFileSync(path.join(pair.a, 'replication.status'), encodeStatus({ ...b, passive: 'reinstating' }));
    fs.writeFileSync(path.join(pair.b, 'replication.status'), encodeStatus({ ...b, epoch: b.epoch + 1 }));
    const again = await openReplicated(pair);
    const [sa, sb] = [(await readStatus(realEnv().fs, pair.a)).status!, (await readStatus(realEnv().fs, pair.b)).status!];
    assert.deepEqual([sa.epoch, sa.passive], [b.epoch + 1, 'in-sync'], 'the active drive took the newest status');
    assert.deepEqual([sb.epoch, sb.passive], [sa.epoch, sa.passive]);
    await assertHolds(again, acked);
    await again.close();
  });

  it('an unreadable status is refused unless the readable one names its own drive active and the other out of replication', async () => {
    const pair = drivePair(dirs);
    const db = await openReplicated(pair);
    await db.close();
    const b = (await readStatus(realEnv().fs, pair.b)).status!;
    const drives = new Drives();
    const plan = drives.fs.plan;
    drives.fs.plan = (call) => (call.op === 'readFile' && call.path === path.join(pair.a, 'replication.status') ? ioError('EIO', call) : plan(call));
    // b says a is active and b in sync: a may have moved on; a's status cannot be read.
    await assert.rejects(openReplicated(pair, drives), (e: unknown) => SopError.is(e, 'UNAVAILABLE') && /cannot be read/.test((e as Error).message));
    // b says b is active (a failover recorded) and a failed: a can only be behind.
    fs.writeFileSync(path.join(pair.b, 'replication.status'), encodeStatus({ ...b, epoch: b.epoch + 1, active: 1, passive: 'failed' }));
    const again = await openReplicated(pair, drives);
    assert.equal(again.replicationStatus()!.active, pair.b);
    await again.close();
  });
});
