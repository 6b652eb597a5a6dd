/**
 * Active/passive replication on real drives (loop-mounted ext4, faults made by the kernel),
 * through the public API only: writers keep committing while the active drive dies (EIO) or
 * is remounted read-only (EROFS), or the passive drive fills up (ENOSPC); then the drive is
 * replaced (or freed) and reinstated online, and the database is closed and reopened.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Database, type ReplicationInfo, SopError } from '../../src/index.js';
import { LoopDrives } from './drives.js';
import { Writers, assertReads, assertStore, assertTyped, createStore, describe as describeError, skipUnlessRealDrives, stopAllWriters } from './workload.js';

const WRITERS = 3;

/** Every file under `dir` with its bytes' digest (relative path → sha256), the lock file left out (an opener rewrites its owner text). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const full = path.join(dir, rel);
    if (rel !== 'sop.lock' && fs.statSync(full).isFile()) out[rel] = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
  }
  return out;
}

describe('real drives: replication on loop-mounted ext4 (REPL-1..REPL-4, STORE-5)', function () {
  this.timeout(120_000);
  let drives: LoopDrives | undefined;
  let db: Database | undefined;

  before(function () {
    skipUnlessRealDrives(this);
  });
  after(() => LoopDrives.cleanupAll()); // whatever a failed hook left mounted
  afterEach(async () => {
    await stopAllWriters();
    await db?.close().catch(() => undefined); // a failed case's database: the drives go next anyway
    db = undefined;
    await drives?.cleanup();
    if (drives) assert.deepEqual(drives.mountsUnder(), [], 'nothing left mounted');
    drives = undefined;
  });

  async function open(d: LoopDrives): Promise<Database> {
    return Database.open({ folder: d.at(0, 'db'), replication: { passive: d.at(1, 'db') } });
  }

  it('the active drive shut down mid-run (EIO): failover, no acknowledged commit lost, reads go on; replaced by a fresh drive and reinstated online; then the new active drive remounted read-only by the kernel (EROFS): the reinstated drive takes over with everything; reinstated again, byte-identical, kept across a reopen (REPL-1..REPL-4, STORE-5)', async () => {
    drives = await LoopDrives.create(2, 64);
    const [a, b] = [drives.at(0, 'db'), drives.at(1, 'db')];
    db = await open(drives);
    await assert.rejects(open(drives), (e: unknown) => SopError.is(e, 'UNAVAILABLE') && /in use/.test((e as Error).message), 'a second opener is refused while the drives are held (STORE-5)');
    await createStore(db);
    const writers = new Writers(db, WRITERS);
    // A kernel error remount (errors=remount-ro) first aborts the ext4 journal: a sync caught in
    // flight fails with EIO, every later change with EROFS. Either is this fault's signature.
    const steps: Array<{ fault: string; code: RegExp; failed: number; make: () => Promise<void>; to: string }> = [
      { fault: 'shutdown', code: /EIO/, failed: 0, make: () => drives!.shutdown(0), to: b },
      { fault: 'read-only', code: /EROFS|EIO/, failed: 1, make: () => drives!.readOnly(1), to: a },
    ];
    for (const step of steps) {
      await writers.more(45);
      await step.make(); // the writers are mid-commit
      await writers.more(45);
      const status: ReplicationInfo = db.replicationStatus()!;
      assert.equal(status.active, step.to, `${step.fault}: failed over (${status.reason})`);
      assert.equal(status.passiveState, 'failed');
      assert.ok(status.events.some((e) => e.kind === 'failover' && step.code.test(e.reason)), JSON.stringify(status.events.map((e) => e.reason)));
      assert.deepEqual(writers.failures.map((f) => describeError(f.error)), [], `${step.fault}: a failover is invisible to the writers (REPL-2)`);
      await assertReads(db, writers.attempts); // reads go on, from the new active drive

      await drives.replace(step.failed); // a fresh empty drive where the failed one was
      await writers.more(15);
      const report = await db.reinstate(); // online: the writers keep committing
      await writers.more(15);
      assert.equal(db.replicationStatus()!.passiveState, 'in-sync', JSON.stringify(report));
    }
    await writers.stop();
    assert.deepEqual(await db.compareReplicas(), [], 'replicas byte-identical after the reinstate (REPL-3)');
    assert.deepEqual(writers.failures.map((f) => describeError(f.error)), []);
    assert.equal(await assertStore(db, writers.attempts), writers.acked.length);
    await db.close();

    db = await open(drives);
    const status = db.replicationStatus()!;
    assert.equal(status.active, a, 'the last failover is durable (REPL-1)');
    assert.equal(status.passiveState, 'in-sync');
    assert.equal(await assertStore(db, writers.attempts), writers.acked.length);
    assert.deepEqual(await db.compareReplicas(), []);
  });

  it('after a failover the dead drive stays dead: a reopen skips its lock and serves the new active drive; commits go on (STORE-5, REPL-1)', async () => {
    drives = await LoopDrives.create(2, 64);
    db = await open(drives);
    await createStore(db);
    const writers = new Writers(db, 2);
    await writers.more(30);
    await drives.shutdown(0);
    await writers.more(30);
    await writers.stop();
    assert.deepEqual(writers.failures.map((f) => describeError(f.error)), []);
    await db.close();
    db = await open(drives); // drive 0 still answers EIO to everything, its lock included
    assert.equal(db.replicationStatus()!.active, drives.at(1, 'db'));
    await assertStore(db, writers.attempts);
    const after = new Writers(db, 1, 50_000_000);
    await after.more(9);
    await after.stop();
    assert.deepEqual(after.failures.map((f) => describeError(f.error)), []);
    await assertStore(db, [...writers.attempts, ...after.attempts]);
  });

  it('the active drive dies while the database is closed, both in sync: opening refuses (UNAVAILABLE, naming the drive) rather than guess, and leaves the passive copy untouched (REPL-1)', async () => {
    drives = await LoopDrives.create(2, 64);
    db = await open(drives);
    await createStore(db);
    const writers = new Writers(db, 2);
    await writers.more(30);
    await writers.stop();
    await db.close();
    db = undefined;
    const passive = drives.at(1, 'db');
    const before = snapshot(passive);
    await drives.shutdown(0);
    await assert.rejects(open(drives), (e: unknown) => SopError.is(e, 'UNAVAILABLE') && (e as Error).message.includes(drives!.at(0, 'db')));
    assert.deepEqual(snapshot(passive), before, 'the refused open wrote nothing to the passive drive');
    // The refusal's advice is to replace the dead drive by an empty one; opening then refuses
    // again, because the statuses name that drive active (REPL-1's limit: no witness). Pinned.
    await drives.replace(0);
    await assert.rejects(open(drives), (e: unknown) => SopError.is(e, 'UNAVAILABLE') && /active replica .* has no readable replication status/.test((e as Error).message));
    assert.deepEqual(snapshot(passive), before);
  });

  it('the passive drive fills up (ENOSPC) mid-run: it leaves replication, commits go on; freed and reinstated online: byte-identical (REPL-3, REPL-4)', async () => {
    drives = await LoopDrives.create(2, 64);
    db = await open(drives);
    await createStore(db);
    const writers = new Writers(db, WRITERS);
    await writers.more(45);
    await drives.fill(1);
    await writers.more(60);
    await db.sweep(); // journal mode (the default): commits append to the preallocated journal; the checkpoint needs new space
    let status = db.replicationStatus()!;
    assert.equal(status.active, drives.at(0, 'db'), 'no failover: the active drive is fine');
    assert.equal(status.passiveState, 'failed');
    assert.ok(status.events.some((e) => e.kind === 'passive-failed' && e.reason.includes('ENOSPC')), JSON.stringify(status.events.map((e) => e.reason)));
    assert.deepEqual(writers.failures.map((f) => describeError(f.error)), [], 'commits go on (REPL-4)');
    await assertReads(db, writers.attempts);

    await drives.unfill(1);
    await writers.more(15);
    const report = await db.reinstate(); // online: the writers keep committing
    await writers.more(15);
    await writers.stop();
    status = db.replicationStatus()!;
    assert.equal(status.passiveState, 'in-sync', JSON.stringify(report));
    assert.deepEqual(await db.compareReplicas(), []);
    await db.close();
    db = await open(drives);
    assert.equal(db.replicationStatus()!.passiveState, 'in-sync');
    assert.equal(await assertStore(db, writers.attempts), writers.acked.length);
    assertTyped(writers.attempts);
  });
});
