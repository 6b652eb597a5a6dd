/**
 * A full drive under a standalone database (a small loop-mounted ext4, filled for real): commits
 * fail with a typed SopError and leave nothing partial; once space is freed commits work again,
 * the store checks out, and a reopen holds every acknowledged commit.
 */
import { strict as assert } from 'node:assert';
import { Database, SopError } from '../../src/index.js';
import { LoopDrives } from './drives.js';
import { type Attempt, Writers, assertStore, createStore, describe as describeError, skipUnlessRealDrives, stopAllWriters } from './workload.js';

describe('real drives: a full drive under a standalone database (ACID-1, ACID-3, STRUCT-1, TX-10)', function () {
  this.timeout(120_000);
  let drives: LoopDrives | undefined;
  let db: Database | undefined;

  before(function () {
    skipUnlessRealDrives(this);
  });
  after(() => LoopDrives.cleanupAll()); // whatever a failed hook left mounted
  afterEach(async () => {
    await stopAllWriters();
    await db?.close().catch(() => undefined); // a failed case's database: the drive goes next anyway
    db = undefined;
    await drives?.cleanup();
    if (drives) assert.deepEqual(drives.mountsUnder(), [], 'nothing left mounted');
    drives = undefined;
  });

  it('ENOSPC: commits fail with a typed IO error, nothing partial; after freeing space commits work again and the store checks out', async () => {
    drives = await LoopDrives.create(1, 16);
    const folder = drives.at(0, 'db');
    db = await Database.open({ folder });
    await createStore(db);
    const before = new Writers(db, 2);
    await before.more(60);
    await before.stop();
    assert.deepEqual(before.failures.map((f) => describeError(f.error)), []);

    await drives.fill(0);
    const full = new Writers(db, 2, 10_000_000);
    while (full.failures.length < 10 && full.attempts.length < 500) await new Promise((resolve) => setTimeout(resolve, 5));
    await full.stop();
    assert.ok(full.failures.length >= 10, `${full.failures.length} of ${full.attempts.length} commits failed on the full drive`);
    const codes = new Set(full.failures.map((f) => (SopError.is(f.error) ? f.error.code : `untyped: ${describeError(f.error)}`)));
    assert.deepEqual([...codes], ['IO'], `failures: ${full.failures.slice(0, 3).map((f) => describeError(f.error)).join(' | ')}`);
    assert.ok(full.failures.every((f) => /ENOSPC/.test(describeError(f.error))), 'the cause names ENOSPC');
    assert.equal(db.failure, null, 'nothing failed after a commit point: the database still takes writes');
    const attempts: Attempt[] = [...before.attempts, ...full.attempts];
    const ackedSoFar = attempts.filter((a) => a.outcome === 'ok').flatMap((a) => a.keys).length;
    assert.equal(await assertStore(db, attempts), ackedSoFar, 'reads need no space: every acknowledged commit, none of the failed ones');

    await drives.unfill(0);
    const after = new Writers(db, 2, 20_000_000);
    await after.more(30);
    await after.stop();
    assert.deepEqual(after.failures.map((f) => describeError(f.error)), [], 'commits work again once space is back');
    attempts.push(...after.attempts);
    await assertStore(db, attempts);
    const check = await db.checkStore('items');
    assert.equal(check.orphanBlobs, 0, `rolled-back commits left blob files behind: ${check.orphanSample.join(', ')}`);
    await db.close();

    db = await Database.open({ folder });
    const acked = attempts.filter((a) => a.outcome === 'ok').flatMap((a) => a.keys);
    assert.equal(await assertStore(db, attempts), acked.length, 'every acknowledged commit and none of the failed ones (rolled back before their commit point)');
  });
});
