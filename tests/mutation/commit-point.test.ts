/**
 * The commit point and what happens around it (src/txn/commit.ts `phase2`, `undoPhase1`;
 * src/txn/durability/in-place.ts `reachCommitPoint`, `apply`, `finish`, `undo`;
 * src/txn/durability/plan.ts `commitLog`):
 * - a priority log that cannot be written is removed, durably, before phase 1 is undone (LOG-2);
 *   if even that fails, the outcome is unknown: the blobs stay, the database is fail-stop and the
 *   next open redoes or undoes the commit (REC-5);
 * - a failure after the commit point keeps the outcome (REC-5, ACID-3); a missing "done" record
 *   keeps the priority log authoritative (LOG-3);
 * - a lost lock aborts before the commit point (LOCK-3); a failed undo leaves its step log for
 *   the sweep (TX-10);
 * - the priority log records absolute counts, -1 for unchanged ones, and every obsolete blob by
 *   store (TX-8, LOG-2); concurrent commits lose no count (TX-8).
 *
 * Each test names the mutants of those files it kills in a comment.
 *
 * Every database here commits in place (`journal: false`): these tests name the in-place
 * protocol's steps, logs and files (clustered mode's protocol; journal mode, the standalone
 * default, has its own in tests/journal and the I/O-error loop).
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { ioError } from '../../fault-injection/faulty-fs.js';
import { type Coordinator, Database, realEnv } from '../../src/index.js';
import {
  assertClean,
  blobIds,
  code,
  copyFolder,
  contents,
  envWith,
  mapOf,
  O,
  oValues,
  onlyPriorityLog,
  range,
  S,
  sValues,
  seedTemplate,
  storeInfoOnDisk,
  switchableFs,
  tempFolder,
  translogs,
} from './helpers.js';


/** Updates keys 0..5 of store s to `w<k>` in `tx`. */
async function updateS(db: Database, tx: Awaited<ReturnType<Database['beginTransaction']>>): Promise<void> {
  const s = await db.openBtree<number, string>(tx, 's');
  for (const k of range(6)) assert.ok(await s.update(k, `w${k}`));
}

const sUpdated = (): Map<unknown, string> => {
  const m = sValues();
  for (const k of range(6)) m.set(k, `w${k}`);
  return m;
};

/** A Coordinator that delegates to the in-process one but can refuse to extend locks. */
function flakyExtend(inner: Coordinator): Coordinator & { refuseExtend: boolean } {
  const c = {
    refuseExtend: false,
    kind: inner.kind,
    runId: () => inner.runId(),
    cacheGet: (k: string) => inner.cacheGet(k),
    cacheSet: (k: string, v: Uint8Array, t: number) => inner.cacheSet(k, v, t),
    cacheDelete: (k: readonly string[]) => inner.cacheDelete(k),
    lock: (k: string, o: string, t: number) => inner.lock(k, o, t),
    unlock: (k: string, o: string) => inner.unlock(k, o),
    extend: async (k: string, o: string, t: number) => (c.refuseExtend ? false : inner.extend(k, o, t)),
    owner: (k: string) => inner.owner(k),
    close: () => inner.close(),
  };
  return c;
}

describe('mutation: the commit point and its failure paths (LOG-2, LOG-3, REC-5, TX-8, TX-10)', function () {
  this.timeout(60_000);
  let template: ReturnType<typeof tempFolder>;
  let tmp: ReturnType<typeof tempFolder>;
  let folder: string;
  let db: Database | undefined;

  before(async () => {
    template = tempFolder('cp-template');
    await seedTemplate(template.path);
  });
  after(() => template.remove());

  beforeEach(() => {
    tmp = tempFolder('cp');
    folder = join(tmp.path, 'db');
    copyFolder(template.path, folder);
  });
  afterEach(async () => {
    await db?.close();
    db = undefined;
    tmp.remove();
  });

  /** Closes the database, reopens the folder with node:fs, checks what recovery did and that both stores are clean. */
  async function reopenAndCheck(recovery: { redone: number; undone: number; cleaned: number }, s: Map<unknown, string>, o = oValues()): Promise<void> {
    await db!.close();
    db = await Database.open({ journal: false, folder });
    assert.deepEqual(db.recovery, recovery, 'what recovery did at open');
    assert.deepEqual(await contents(db, 's'), s);
    assert.deepEqual(await contents(db, 'o'), o);
    await assertClean(db, 's', s.size);
    await assertClean(db, 'o', o.size);
    assert.deepEqual(translogs(folder), [], 'recovery ended every transaction');
  }

  // Kills: the plg unlink or the folder sync removed or moved after the undo; the undo skipped;
  // undoPhase1's lock release removed (the next commit of the same key would conflict).
  it('LOG-2, TX-10: a priority log that fails to sync is removed, durably, before phase 1 is undone', async () => {
    const fs = switchableFs();
    db = await Database.open({ journal: false, folder, env: envWith(fs) });
    const before = blobIds(folder, 's');
    const tx = await db.beginTransaction('write');
    await updateS(db, tx);
    let fired = 0;
    fs.plan = (call) => (call.op === 'datasync' && call.path.endsWith(`${tx.id}.plg`) && fired++ === 0 ? ioError('EIO', call) : null);
    fs.record = true;
    await assert.rejects(tx.commit(), code('IO'));
    fs.record = false;
    assert.equal(fired, 1, 'the priority log was written, then its sync failed');
    assert.equal(tx.state, 'rolledBack');
    assert.equal(db.failure, null, 'a commit that never reached its commit point is no reason to stop');
    assert.deepEqual(translogs(folder), [], 'priority log and step log are gone');
    assert.deepEqual(blobIds(folder, 's'), before, "phase 1's blobs are deleted, the committed ones kept");

    const calls = fs.calls;
    const unlinkPlg = calls.findIndex((c) => c.op === 'unlink' && c.path.endsWith(`${tx.id}.plg`));
    const syncLogs = calls.findIndex((c, i) => i > unlinkPlg && c.op === 'syncDir' && c.path.endsWith('/translogs'));
    const firstBlobUnlink = calls.findIndex((c) => c.op === 'unlink' && c.path.includes('/blobs/'));
    assert.ok(unlinkPlg >= 0, 'the priority log was unlinked');
    assert.ok(syncLogs > unlinkPlg, 'then translogs/ was synced');
    assert.ok(firstBlobUnlink > syncLogs, `and only then were blobs deleted (${unlinkPlg}, ${syncLogs}, ${firstBlobUnlink})`);

    assert.deepEqual(await contents(db, 's'), sValues());
    const again = await db.beginTransaction('write');
    await updateS(db, again);
    await again.commit(); // no retry: every lock of the failed commit was released
    await reopenAndCheck({ redone: 0, undone: 0, cleaned: 0 }, sUpdated());
  });

  // Kills: `committed = true` in the cleanup catch flipped (the undo would delete blobs the
  // surviving priority log refers to); commitNeedsRecovery dropped; the fail-stop check before
  // the priority log (`if (failure) throw failure`) removed or inverted.
  it('LOG-2, REC-5: the priority log fails and so does its removal: outcome unknown, blobs kept, fail-stop; reopen redoes it', async () => {
    const fs = switchableFs();
    db = await Database.open({ journal: false, folder, env: envWith(fs) });
    const sBefore = blobIds(folder, 's');
    const oBefore = blobIds(folder, 'o');
    const early = await db.beginTransaction('write'); // began before the failure, another store
    assert.ok(await (await db.openBtree<number, string>(early, 'o')).add(100, 'late'));
    const tx = await db.beginTransaction('write');
    await updateS(db, tx);
    fs.plan = (call) => (call.path.endsWith(`${tx.id}.plg`) && (call.op === 'datasync' || call.op === 'unlink') ? ioError('EIO', call) : null);
    await assert.rejects(tx.commit(), code('IO'));
    assert.equal(tx.state, 'committed', 'past the commit point as far as anyone can tell');
    assert.ok(db.failure, 'the database is fail-stop');
    assert.equal(db.failure.code, 'UNAVAILABLE');
    const sAfter = blobIds(folder, 's');
    assert.ok([...sBefore].every((id) => sAfter.has(id)), 'no committed blob was deleted');
    assert.ok(sAfter.size > sBefore.size, 'the new blobs are kept for the redo');
    assert.ok(translogs(folder).includes(`${tx.id}.plg`));

    await assert.rejects(early.commit(), code('UNAVAILABLE'));
    assert.equal(early.state, 'rolledBack');
    assert.ok(!translogs(folder).some((f) => f.startsWith(early.id)), 'the refused commit left no log');
    assert.deepEqual(blobIds(folder, 'o'), oBefore, 'and no blob');
    await assert.rejects(db.beginTransaction('write'), code('UNAVAILABLE'));
    await reopenAndCheck({ redone: 1, undone: 0, cleaned: 0 }, sUpdated());
  });

  // Kills: the torn-log path of recovery deciding "committed"; readState's retry loop not ending.
  it('LOG-2, REC-5: an empty priority log that could not be removed: fail-stop; reopen undoes the commit', async () => {
    const fs = switchableFs();
    db = await Database.open({ journal: false, folder, env: envWith(fs) });
    const tx = await db.beginTransaction('write');
    await updateS(db, tx);
    fs.plan = (call) => (call.path.endsWith(`${tx.id}.plg`) && (call.op === 'write' || call.op === 'unlink') ? ioError('EIO', call) : null);
    await assert.rejects(tx.commit(), code('IO'));
    assert.equal(tx.state, 'committed');
    assert.equal(db.failure?.code, 'UNAVAILABLE');
    await reopenAndCheck({ redone: 0, undone: 1, cleaned: 0 }, sValues());
  });

  // Kills: `committed = true` after the priority log flipped (the phase-2 catch would undo a
  // committed transaction); the apply catch's commitNeedsRecovery dropped.
  it('REC-5, ACID-3: the registry flip fails after the commit point: blobs kept, writes refused, reopen redoes it', async () => {
    let failFlip = false;
    db = await Database.open({
      journal: false,
      folder,
      env: envWith(undefined, (name) => {
        if (name === 'commit.afterFlip' && failFlip) throw new Error('injected: flip failed');
      }),
    });
    const before = blobIds(folder, 's');
    const tx = await db.beginTransaction('write');
    await updateS(db, tx);
    failFlip = true;
    await assert.rejects(tx.commit(), code('IO'));
    assert.equal(tx.state, 'committed');
    assert.equal(db.failure?.code, 'UNAVAILABLE');
    const after = blobIds(folder, 's');
    assert.ok([...before].every((id) => after.has(id)) && after.size > before.size, 'old and new blobs are all kept');
    await assert.rejects(db.beginTransaction('write'), code('UNAVAILABLE'));
    await reopenAndCheck({ redone: 1, undone: 0, cleaned: 0 }, sUpdated());
  });

  // Kills: the `return` after a failed "done" append removed (the priority log would be
  // deleted and the locks released without a done record); commitNeedsRecovery dropped there.
  it('LOG-3, REC-5: the "done" record cannot be written: the priority log stays, writes are refused, reopen redoes it', async () => {
    const fs = switchableFs();
    let tid = '';
    db = await Database.open({
      journal: false,
      folder,
      env: envWith(fs, (name) => {
        if (name === 'commit.afterStoreInfo') fs.plan = (call) => (call.op === 'write' && call.path.endsWith(`${tid}.log`) ? ioError('EIO', call) : null);
      }),
    });
    const tx = await db.beginTransaction('write');
    tid = tx.id;
    await updateS(db, tx);
    await tx.commit(); // the commit itself is durable and published
    assert.equal(tx.state, 'committed');
    assert.equal(db.failure?.code, 'UNAVAILABLE');
    assert.deepEqual(translogs(folder), [`${tid}.log`, `${tid}.plg`], 'without "done" the priority log must stay');
    assert.deepEqual(await contents(db, 's'), sUpdated(), 'readers see the commit');
    await assert.rejects(db.beginTransaction('write'), code('UNAVAILABLE'));
    fs.plan = () => null;
    await reopenAndCheck({ redone: 1, undone: 0, cleaned: 0 }, sUpdated());
  });

  // Kills: the lock verification before the priority log removed.
  it('LOCK-3, TX-10: a lock lost before the commit point aborts the commit with CONFLICT and leaves nothing behind', async () => {
    const base = realEnv();
    const coordinator = flakyExtend(base.coordinator);
    db = await Database.open({ journal: false, folder, env: { ...base, coordinator } });
    const before = blobIds(folder, 's');
    const tx = await db.beginTransaction('write');
    await updateS(db, tx);
    coordinator.refuseExtend = true;
    await assert.rejects(tx.commit(), code('CONFLICT'));
    coordinator.refuseExtend = false;
    assert.equal(tx.state, 'rolledBack');
    assert.equal(db.failure, null);
    assert.deepEqual(translogs(folder), []);
    assert.deepEqual(blobIds(folder, 's'), before);
    assert.deepEqual(await contents(db, 's'), sValues());
    await reopenAndCheck({ redone: 0, undone: 0, cleaned: 0 }, sValues());
  });

  // Kills: `leftovers = true` dropped or the catch emptied (the step log would be removed and the
  // blobs orphaned for good); the blob removal in undoPhase1 removed.
  it('TX-10: a blob deletion that fails during the undo keeps the step log; the sweep finishes the undo', async () => {
    const fs = switchableFs();
    let failBlobs = false;
    db = await Database.open({
      journal: false,
      folder,
      env: envWith(fs, (name) => {
        if (name === 'commit.afterBlobs' && failBlobs) throw new Error('injected: failure before the commit point');
      }),
    });
    const before = blobIds(folder, 's');
    const tx = await db.beginTransaction('write');
    await updateS(db, tx);
    failBlobs = true;
    fs.plan = (call) => (call.op === 'unlink' && call.path.includes('/stores/s/blobs/') ? ioError('EIO', call) : null);
    await assert.rejects(tx.commit(), /injected: failure before the commit point/);
    fs.plan = () => null;
    failBlobs = false;
    assert.equal(tx.state, 'rolledBack');
    assert.equal(db.failure, null);
    assert.deepEqual(translogs(folder), [`${tx.id}.log`], 'the step log stays: the undo is unfinished');
    assert.ok((await db.checkStore('s')).orphanBlobs > 0, "phase 1's blobs are still there");
    assert.deepEqual(await contents(db, 's'), sValues());

    assert.deepEqual(await db.sweep(), { redone: 0, undone: 1, cleaned: 0 }, 'the sweep undoes it from the step log');
    assert.deepEqual(translogs(folder), []);
    assert.deepEqual(blobIds(folder, 's'), before);
    await assertClean(db, 's', S);
    const again = await db.beginTransaction('write');
    await updateS(db, again);
    await again.commit(); // locks were released
    await reopenAndCheck({ redone: 0, undone: 0, cleaned: 0 }, sUpdated());
  });

  // Kills: `count: p.info?.count ?? -1` mutated (-1 → +1, `??` → `&&`), `delta !== 0` flipped,
  // `info.count + delta` → `-`, the seq floor (`Math.max` → `Math.min`, standalone: the seq must
  // still exceed every store's commitSeq), obsolete refs empty or filed under the wrong store.
  it('TX-8, LOG-2: the priority log holds absolute counts, -1 for unchanged counts, a higher seq, and each obsolete blob by store', async () => {
    let seen: ReturnType<typeof onlyPriorityLog> | undefined;
    db = await Database.open({
      journal: false,
      folder,
      env: envWith(undefined, (name) => {
        if (name === 'commit.afterPlg') seen = onlyPriorityLog(folder);
      }),
    });
    const seqBefore = Math.max(storeInfoOnDisk(folder, 's').commitSeq, storeInfoOnDisk(folder, 'o').commitSeq);
    const oInfoBefore = storeInfoOnDisk(folder, 'o');
    const before: Record<string, Set<string>> = { s: blobIds(folder, 's'), o: blobIds(folder, 'o') };
    const tx = await db.beginTransaction('write');
    const s = await db.openBtree<number, string>(tx, 's');
    assert.ok(await s.remove(1));
    assert.ok(await s.remove(7));
    assert.ok(await s.update(2, 'w2'));
    const o = await db.openBtree<number, string>(tx, 'o');
    assert.ok(await o.add(50, 'o50'));
    assert.ok(await o.remove(3)); // count unchanged
    const p = await db.newBtree<number, string>(tx, 'p', { slotLength: 4 });
    for (const k of range(3)) assert.ok(await p.add(k, `p${k}`));
    before.p = blobIds(folder, 'p'); // the new store's empty root
    await tx.commit();

    assert.ok(seen, 'the priority log was on disk at commit.afterPlg');
    assert.equal(seen.tid, tx.id);
    const counts = Object.fromEntries(seen.stores.map((c) => [c.name, c.count]));
    assert.deepEqual(counts, { s: S - 2, o: -1, p: 3 }, 'absolute counts; -1 where the count did not change');
    assert.ok(seen.seq > seqBefore, `seq ${seen.seq} above every store's commitSeq ${seqBefore}`);
    assert.equal(storeInfoOnDisk(folder, 's').commitSeq, seen.seq, 'the store info records the commit seq');
    assert.equal(storeInfoOnDisk(folder, 's').count, S - 2);
    assert.equal(storeInfoOnDisk(folder, 'p').count, 3);
    assert.equal(storeInfoOnDisk(folder, 'o').count, oInfoBefore.count);
    for (const store of ['s', 'o', 'p']) {
      const now = blobIds(folder, store);
      const gone = [...before[store]!].filter((id) => !now.has(id)).sort();
      const listed = seen.obsolete.filter((r) => r.store === store).map((r) => r.id).sort();
      assert.ok(gone.length > 0);
      assert.deepEqual(listed, gone, `store ${store}: the priority log lists exactly the blobs the commit made obsolete`);
    }
    assert.equal(seen.obsolete.length, new Set(seen.obsolete.map((r) => `${r.store}/${r.id}`)).size, 'no blob listed twice');
    const sNow = sValues();
    sNow.delete(1);
    sNow.delete(7);
    sNow.set(2, 'w2');
    const oNow = oValues();
    oNow.set(50, 'o50');
    oNow.delete(3);
    await reopenAndCheck({ redone: 0, undone: 0, cleaned: 0 }, sNow, oNow);
    assert.deepEqual(await contents(db, 'p'), mapOf(range(3), (k) => `p${k}`));
  });

  it('TX-8: concurrent commits to the same stores lose no count update', async () => {
    db = await Database.open({ journal: false, folder });
    const d = db;
    const W = 8;
    await Promise.all(
      range(W).map((i) =>
        d.transaction('write', async (tx) => {
          const s = await d.openBtree<number, string>(tx, 's');
          for (const j of range(3)) assert.ok(await s.add(100 + i * 3 + j, `n${i}`));
          const o = await d.openBtree<number, string>(tx, 'o');
          assert.ok(await o.add(200 + i, `n${i}`));
        }, { retries: 50 }),
      ),
    );
    const s = sValues();
    const o = oValues();
    for (const i of range(W)) {
      for (const j of range(3)) s.set(100 + i * 3 + j, `n${i}`);
      o.set(200 + i, `n${i}`);
    }
    assert.equal(storeInfoOnDisk(folder, 's').count, S + 3 * W);
    assert.equal(storeInfoOnDisk(folder, 'o').count, O + W);
    await reopenAndCheck({ redone: 0, undone: 0, cleaned: 0 }, s, o);
  });

  // Kills: the seq floor `Math.max(0, ...commitSeq)` → `Math.min` (invisible standalone, where the
  // database's own counter is never behind the disk).
  it('CLU-3, TX-8, REC-3: clustered: a commit takes a seq above the store info on disk, written by another instance', async () => {
    const coordinator = realEnv().coordinator;
    const openOne = (): Promise<Database> => Database.open({ journal: false, folder, mode: 'clustered', clusterGraceMs: 0, env: { ...realEnv(), coordinator } });
    const a = await openOne();
    db = await openOne(); // b: opened before a's commits, its own counter stays behind
    try {
      for (const k of range(3)) {
        await a.transaction('write', async (tx) => void assert.ok(await (await a.openBtree<number, string>(tx, 's')).add(100 + k, 'a')));
      }
      const seqA = storeInfoOnDisk(folder, 's').commitSeq;
      await db.transaction('write', async (tx) => void assert.ok(await (await db!.openBtree<number, string>(tx, 's')).add(200, 'b')));
      const info = storeInfoOnDisk(folder, 's');
      assert.ok(info.commitSeq > seqA, `commitSeq ${info.commitSeq} must exceed ${seqA}, written by the other instance`);
      assert.equal(info.count, S + 4);
    } finally {
      await a.close();
    }
    const s = sValues();
    for (const k of range(3)) s.set(100 + k, 'a');
    s.set(200, 'b');
    await reopenAndCheck({ redone: 0, undone: 0, cleaned: 0 }, s);
  });

  // Kills: phase 2's catch (`if (!this.committed) await this.undoPhase1()`) removed or inverted:
  // a failure under the store lock, before the commit point, must undo phase 1 and free the locks.
  it('TX-10, CLU-3: clustered: the store info cannot be re-read under the store lock: phase 1 is undone, locks released', async () => {
    const fs = switchableFs();
    let armed = false;
    db = await Database.open({
      journal: false,
      folder,
      mode: 'clustered',
      clusterGraceMs: 0,
      env: envWith(fs, (name) => {
        if (name !== 'commit.afterBlobs' || !armed) return;
        armed = false;
        let fired = 0;
        fs.plan = (call) => (call.op === 'readFile' && call.path.endsWith('/stores/s/storeinfo') && fired++ === 0 ? ioError('EIO', call) : null);
      }),
    });
    const before = blobIds(folder, 's');
    const tx = await db.beginTransaction('write');
    const s = await db.openBtree<number, string>(tx, 's');
    assert.ok(await s.add(99, 'new')); // a count change: phase 2 takes the store lock and re-reads the info
    armed = true;
    await assert.rejects(tx.commit(), code('IO'));
    fs.plan = () => null;
    assert.equal(tx.state, 'rolledBack');
    assert.equal(db.failure, null);
    assert.deepEqual(translogs(folder), []);
    assert.deepEqual(blobIds(folder, 's'), before, "phase 1's blobs are deleted");
    const again = await db.beginTransaction('write');
    assert.ok(await (await db.openBtree<number, string>(again, 's')).add(99, 'again'));
    await again.commit(); // its locks were released
    const sNow = sValues();
    sNow.set(99, 'again');
    await reopenAndCheck({ redone: 0, undone: 0, cleaned: 0 }, sNow);
  });
});
