/**
 * The hazards of SOP's engine (../shared/notes/sop-engine.md §N) that apply to a standalone
 * engine: one test per hazard, titled with its id, that fails if sop-ts had it. Most run in the
 * default protocol (journal mode); those that stop or fail a commit at a named step of the
 * in-place protocol (blob writes, priority log, sector flips) open with `journal: false`, the
 * protocol those steps belong to (the journal's crash points are in tests/journal and the
 * SIGKILL suite).
 *
 * Not applicable here (they belong to later issues, or the mechanism does not exist in sop-ts):
 * - E96, E103, E104, E106: active/passive replication (process-global status, persisted
 *   toggler, fast-forward, repair flag). sop-ts has no replication yet.
 * - E110: erasure-coding metadata. sop-ts has no erasure coding.
 * - E118: L1 bound to the first L2 client: needs two Redis servers (clustered mode).
 * - E130: lock takeover of a dead transaction's node locks: sop-ts has no lock takeover
 *   (recovery runs at open and in the onIdle sweep, under the sweep lock).
 * - E70: the add-path lock error carrying a slice: there is no stale-lock handler in sop-ts
 *   (LockSet reports the single busy key and the commit fails with CONFLICT).
 * - E41 (removes of actively persisted values take no item lock) has its test in
 *   tests/concurrency/bank.test.ts ("a remove and an update of the same key") and a short one here.
 */
import { strict as assert } from 'node:assert';
import { closeSync, openSync, readFileSync, readdirSync, statSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  type Coordinator,
  Database,
  type FileHandle,
  type FileSystem,
  MemoryCoordinator,
  NodeFileSystem,
  type OpenMode,
  SeededRandom,
  SopError,
  realEnv,
} from '../../src/index.js';
import { SECTOR_SIZE } from '../../src/registry/sector.js';
import { StoreRepository } from '../../src/store/store-repository.js';
import { Maintenance } from '../../src/txn/maintenance.js';
import { FakeClock, FaultyFileSystem, crashDuring, tempFolder } from './helpers.js';

const codeOf = (code: string) => (e: unknown) => SopError.is(e) && e.code === code;

function blobFiles(folder: string, store: string): Map<string, Buffer> {
  const dir = join(folder, 'stores', store, 'blobs');
  const files = new Map<string, Buffer>();
  for (const sub of readdirSync(dir)) for (const f of readdirSync(join(dir, sub))) files.set(f, readFileSync(join(dir, sub, f)));
  return files;
}

async function readAll<V>(db: Database, store: string): Promise<Map<unknown, V>> {
  return db.transaction('read', async (tx) => {
    const b = await db.openBtree<unknown, V>(tx, store);
    const all = new Map<unknown, V>();
    for await (const [k, v] of b.range()) all.set(k, v);
    assert.equal(b.count, all.size, `${store}: count equals a full scan`);
    return all;
  });
}

async function getValue<V>(db: Database, store: string, key: unknown): Promise<V | undefined> {
  return db.transaction('read', async (tx) => {
    const b = await db.openBtree<unknown, V>(tx, store);
    return (await b.find(key)) ? b.getCurrentValue() : undefined;
  });
}

async function assertClean(db: Database, store: string, count: number): Promise<void> {
  const check = await db.checkStore(store);
  assert.equal(check.count, count, `${store}: checkStore count`);
  assert.equal(check.orphanBlobs, 0, `${store}: orphan blobs`);
  // The journal's own files (journal mode, the default) are not transaction logs: no step log or priority log is left.
  const logs = readdirSync(join(db.folder, 'translogs')).filter((name) => !name.startsWith('journal.'));
  assert.deepEqual(logs, [], 'translogs/ holds no transaction log');
}

describe('SOP hazards (sop-engine.md §N) that sop-ts must not have', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof tempFolder>;
  let folder: string;

  beforeEach(function () {
    tmp = tempFolder(this.currentTest!.title.slice(0, 4).replace(/[^A-Za-z0-9]/g, ''));
    folder = tmp.path;
  });
  afterEach(() => tmp.remove());

  // -------------------------------------------------------------------------------------------
  describe('E40: a value is never overwritten in place before the commit point (COW-1, TX-6)', () => {
    it('E40: read-then-update of a separate-blob value writes a fresh blob; the committed blob is untouched until the commit, then deleted', async () => {
      let atBlobs: (() => Promise<void>) | null = null;
      const env = { ...realEnv(), point: async (name: string) => void (name === 'commit.afterBlobs' && (await atBlobs?.())) };
      const db = await Database.open({ folder, env, journal: false });
      try {
        await db.transaction('write', async (tx) => {
          const vals = await db.newBtree<number, { v: string }>(tx, 'vals', { valueInNode: false });
          for (let k = 1; k <= 5; k++) await vals.add(k, { v: `old${k}` });
        });
        const before = blobFiles(folder, 'vals');
        let checkedAtCommitPoint = false;
        atBlobs = async () => {
          atBlobs = null;
          // phase 1 is done: every committed blob still has its bytes, and readers see the old value
          for (const [id, bytes] of before) assert.ok(readFileSync(join(folder, 'stores', 'vals', 'blobs', id.slice(0, 2), id)).equals(bytes), `blob ${id} changed before the commit point`);
          assert.deepEqual(await getValue(db, 'vals', 1), { v: 'old1' }, 'a concurrent reader sees the committed value');
          checkedAtCommitPoint = true;
        };
        await db.transaction('write', async (tx) => {
          const vals = await db.openBtree<number, { v: string }>(tx, 'vals');
          assert.ok(await vals.find(1));
          assert.deepEqual(await vals.getCurrentValue(), { v: 'old1' });
          assert.ok(await vals.updateCurrentValue({ v: 'new1' }));
          assert.deepEqual(await vals.getCurrentValue(), { v: 'new1' });
        });
        assert.ok(checkedAtCommitPoint);
        assert.deepEqual(await getValue(db, 'vals', 1), { v: 'new1' });
        const after = blobFiles(folder, 'vals');
        assert.ok([...after.keys()].every((id) => !before.has(id) || before.get(id)!.equals(after.get(id)!)), 'no blob id was rewritten');
        await assertClean(db, 'vals', 5); // the old value blob is gone, nothing is orphaned
      } finally {
        await db.close();
      }
    });

    it('E40: a rolled-back (or failed) read-then-update keeps the committed value blob', async () => {
      let failAtBlobs = false;
      const env = {
        ...realEnv(),
        point: (name: string) => {
          if (name === 'commit.afterBlobs' && failAtBlobs) throw new Error('injected failure before the commit point');
        },
      };
      const db = await Database.open({ folder, env, journal: false });
      try {
        await db.transaction('write', async (tx) => {
          const vals = await db.newBtree<number, { v: string }>(tx, 'vals', { valueInNode: false });
          for (let k = 1; k <= 5; k++) await vals.add(k, { v: `old${k}` });
        });
        const before = blobFiles(folder, 'vals');
        const tx = await db.beginTransaction('write');
        const vals = await db.openBtree<number, { v: string }>(tx, 'vals');
        assert.ok(await vals.find(2));
        await vals.getCurrentValue();
        await vals.update(2, { v: 'new2' });
        await tx.rollback();
        failAtBlobs = true;
        await assert.rejects(
          db.transaction('write', async (t) => {
            const v = await db.openBtree<number, { v: string }>(t, 'vals');
            assert.ok(await v.find(3));
            await v.getCurrentValue();
            await v.updateCurrentValue({ v: 'new3' });
          }),
          /injected failure/,
        );
        assert.deepEqual(await getValue(db, 'vals', 2), { v: 'old2' });
        assert.deepEqual(await getValue(db, 'vals', 3), { v: 'old3' });
        const after = blobFiles(folder, 'vals');
        assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), 'exactly the committed blobs remain');
        for (const [id, bytes] of before) assert.ok(after.get(id)!.equals(bytes), `blob ${id} was rewritten`);
        await assertClean(db, 'vals', 5);
      } finally {
        await db.close();
      }
    });

    it('E40: values and keys handed out by reads are private: mutating them changes nothing committed (values in nodes)', async () => {
      const db = await Database.open({ folder });
      try {
        const mine = { v: 'old' };
        await db.transaction('write', async (tx) => {
          const vals = await db.newBtree<{ id: number }, { v: string }>(tx, 'vals', { keyOrder: [{ field: 'id' }] });
          for (let id = 1; id <= 5; id++) await vals.add({ id }, id === 1 ? mine : { v: 'old' });
          mine.v = 'mutated after add'; // the caller's object is not the stored one
        });
        assert.deepEqual(await getValue(db, 'vals', { id: 1 }), { v: 'old' }, 'a value passed to add is copied');

        // A transaction mutates what reads handed it, then rolls back.
        const tx = await db.beginTransaction('write');
        const vals = await db.openBtree<{ id: number }, { v: string }>(tx, 'vals');
        assert.ok(await vals.find({ id: 2 }));
        const value = (await vals.getCurrentValue())!;
        const key = vals.getCurrentKey()!;
        try {
          value.v = 'dirty';
          key.id = 99;
        } catch {
          // frozen objects are a fine way to keep them private too
        }
        for await (const [k, v] of vals.range()) {
          try {
            v.v = 'dirty';
            k.id = -k.id;
          } catch {
            // frozen
          }
        }
        await tx.rollback();

        const all = await readAll<{ v: string }>(db, 'vals');
        assert.deepEqual(
          [...all].map(([k, v]) => [k, v]),
          [1, 2, 3, 4, 5].map((id) => [{ id }, { v: 'old' }]),
          'another transaction sees exactly what was committed',
        );
        assert.deepEqual(await getValue(db, 'vals', { id: 2 }), { v: 'old' });
        await assertClean(db, 'vals', 5);
      } finally {
        await db.close();
      }
    });

    it('E40: the read-modify-write pattern (mutate the value read, then update) stays private until commit and is undone by rollback', async () => {
      interface Acct {
        balance: number;
      }
      const db = await Database.open({ folder });
      try {
        await db.transaction('write', async (tx) => {
          const accts = await db.newBtree<number, Acct>(tx, 'accts', { valueInNode: true });
          for (let k = 1; k <= 3; k++) await accts.add(k, { balance: 100 });
        });
        const tx = await db.beginTransaction('write');
        const accts = await db.openBtree<number, Acct>(tx, 'accts');
        assert.ok(await accts.find(1));
        const v = (await accts.getCurrentValue())!;
        v.balance -= 10; // the usual way to write a read-modify-write
        assert.ok(await accts.updateCurrentValue(v));
        assert.deepEqual(await getValue(db, 'accts', 1), { balance: 100 }, 'another transaction sees an uncommitted balance (dirty read)');
        await tx.rollback();
        assert.deepEqual(await getValue(db, 'accts', 1), { balance: 100 }, 'the rolled-back change is still visible');
        // A later commit that rewrites the same node must not persist the rolled-back change.
        await db.transaction('write', async (t) => void (await (await db.openBtree<number, Acct>(t, 'accts')).update(2, { balance: 200 })));
      } finally {
        await db.close();
      }
      const again = await Database.open({ folder });
      try {
        assert.deepEqual(await getValue(again, 'accts', 1), { balance: 100 }, 'a rolled-back change reached the disk');
        assert.deepEqual(await getValue(again, 'accts', 2), { balance: 200 });
      } finally {
        await again.close();
      }
    });
  });

  // -------------------------------------------------------------------------------------------
  it('E41: a remove and an update of the same separate-blob value conflict (LOCK-2)', async () => {
    const db = await Database.open({ folder });
    try {
      await db.transaction('write', async (tx) => {
        const vals = await db.newBtree<number, string>(tx, 'vals', { valueInNode: false });
        for (let k = 0; k < 3; k++) await vals.add(k, `v${k}`);
      });
      const remover = await db.beginTransaction('write');
      const updater = await db.beginTransaction('write');
      assert.ok(await (await db.openBtree<number, string>(remover, 'vals')).remove(1));
      assert.ok(await (await db.openBtree<number, string>(updater, 'vals')).update(1, 'updated'));
      await remover.commit();
      await assert.rejects(updater.commit(), codeOf('CONFLICT'));
      assert.equal(await getValue(db, 'vals', 1), undefined);
      await assertClean(db, 'vals', 2);
    } finally {
      await db.close();
    }
  });

  // -------------------------------------------------------------------------------------------
  describe('E56: a transaction that created a store and did not commit leaves no store behind (TX-10, STORE-3)', () => {
    it('E56: rollback after creating a store and adding separate-blob values', async () => {
      const db = await Database.open({ folder });
      try {
        const tx = await db.beginTransaction('write');
        const big = await db.newBtree<number, string>(tx, 'big', { valueInNode: false, slotLength: 4 });
        for (let k = 0; k < 20; k++) await big.add(k, 'x'.repeat(100 + k));
        assert.ok(((await db.listStores()).map((s) => s.name)).includes('big'));
        await tx.rollback();
        assert.deepEqual((await db.listStores()).map((s) => s.name), []);
        assert.deepEqual(readdirSync(join(folder, 'stores')), []);
        assert.deepEqual(readdirSync(join(folder, 'translogs')), []);
      } finally {
        await db.close();
      }
    });

    it('E56: a commit that fails before its commit point removes the store it created', async () => {
      let fail = true;
      const env = {
        ...realEnv(),
        point: (name: string) => {
          if (name === 'commit.afterBlobs' && fail) throw new Error('injected failure before the commit point');
        },
      };
      const db = await Database.open({ folder, env, journal: false });
      try {
        await assert.rejects(
          db.transaction('write', async (tx) => {
            const big = await db.newBtree<number, string>(tx, 'big', { valueInNode: false });
            for (let k = 0; k < 5; k++) await big.add(k, `v${k}`);
          }),
          /injected failure/,
        );
        assert.deepEqual((await db.listStores()).map((s) => s.name), []);
        assert.deepEqual(readdirSync(join(folder, 'stores')), []);
        assert.deepEqual(readdirSync(join(folder, 'translogs')), []);
        fail = false;
        await db.transaction('write', async (tx) => void (await (await db.newBtree<number, string>(tx, 'big', { valueInNode: false })).add(1, 'one')));
        await assertClean(db, 'big', 1);
      } finally {
        await db.close();
      }
    });

    it('E56: a crash before the commit point removes the created store at the next open', async () => {
      await crashDuring(folder, 'commit.afterBlobs', async (db) => {
        await db.transaction('write', async (tx) => {
          const big = await db.newBtree<number, string>(tx, 'big', { valueInNode: false });
          for (let k = 0; k < 5; k++) await big.add(k, `v${k}`);
        });
      });
      const db = await Database.open({ folder });
      try {
        assert.deepEqual((await db.listStores()).map((s) => s.name), []);
        assert.deepEqual(readdirSync(join(folder, 'stores')), []);
        assert.deepEqual(readdirSync(join(folder, 'translogs')), []);
      } finally {
        await db.close();
      }
    });

    it('E56 (inverse, REC-5): a store created by a transaction that passed its commit point stays, even if phase 2 fails', async () => {
      const fs = new FaultyFileSystem();
      const env = {
        ...realEnv(),
        fs,
        point: (name: string) => {
          // after the priority log is durable, the registry write fails (EIO on the cow file)
          if (name === 'commit.afterPlg') fs.failWrites = (path) => path.endsWith('.cow');
        },
      };
      const db = await Database.open({ folder, env, journal: false });
      try {
        await assert.rejects(
          db.transaction('write', async (tx) => {
            const fresh = await db.newBtree<number, string>(tx, 'fresh');
            for (let k = 0; k < 5; k++) await fresh.add(k, `v${k}`);
          }),
          codeOf('IO'),
        );
        // REC-5: committed durably, redone on the next open; meanwhile writes are refused
        await assert.rejects(db.beginTransaction('write'), codeOf('UNAVAILABLE'));
      } finally {
        fs.failWrites = null;
        await db.close();
      }
      const again = await Database.open({ folder });
      try {
        assert.deepEqual((await again.listStores()).map((s) => s.name), ['fresh'], 'the committed store was deleted by the failed commit');
        const all = await readAll<string>(again, 'fresh');
        assert.deepEqual([...all], [0, 1, 2, 3, 4].map((k) => [k, `v${k}`]));
        await assertClean(again, 'fresh', 5);
      } finally {
        await again.close();
      }
    });

    it('E56: a store another transaction committed to stays when its creator rolls back', async () => {
      const db = await Database.open({ folder });
      try {
        const creator = await db.beginTransaction('write');
        await db.newBtree<number, string>(creator, 'shared');
        await db.transaction('write', async (tx) => void (await (await db.newBtree<number, string>(tx, 'shared')).add(1, 'kept')));
        await creator.rollback();
        assert.deepEqual((await db.listStores()).map((s) => s.name), ['shared']);
        assert.equal(await getValue(db, 'shared', 1), 'kept');
        await assertClean(db, 'shared', 1);
      } finally {
        await db.close();
      }
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('E58 + E93: crash recovery never deletes committed blobs, never undoes a commit, restores counts (REC-2, REC-3, REC-4)', () => {
    interface Val {
      k: number;
      gen: number;
      pad: string;
    }
    const val = (k: number, gen: number): Val => ({ k, gen, pad: 'p'.repeat((k * 37) % 500) });

    async function setup(): Promise<void> {
      const db = await Database.open({ folder });
      try {
        await db.transaction('write', async (tx) => {
          const vals = await db.newBtree<number, Val>(tx, 'vals', { valueInNode: false, slotLength: 4 });
          const inline = await db.newBtree<number, Val>(tx, 'inline', { valueInNode: true, slotLength: 4 });
          for (let k = 0; k < 20; k++) {
            await vals.add(k, val(k, 0));
            await inline.add(k, val(k, 0));
          }
        });
      } finally {
        await db.close();
      }
    }

    /** Read-then-update 0..4, remove 10..12, add 100..104 in 'vals'; add 200 and remove 19 in 'inline'. */
    async function change(db: Database): Promise<void> {
      await db.transaction('write', async (tx) => {
        const vals = await db.openBtree<number, Val>(tx, 'vals');
        for (let k = 0; k < 5; k++) {
          assert.ok(await vals.find(k));
          assert.equal((await vals.getCurrentValue())!.gen, 0);
          assert.ok(await vals.updateCurrentValue(val(k, 1)));
        }
        for (let k = 10; k < 13; k++) assert.ok(await vals.remove(k));
        for (let k = 100; k < 105; k++) assert.ok(await vals.add(k, val(k, 1)));
        const inline = await db.openBtree<number, Val>(tx, 'inline');
        assert.ok(await inline.add(200, val(200, 1)));
        assert.ok(await inline.remove(19));
      });
    }

    function expected(committed: boolean): { vals: Map<number, Val>; inline: Map<number, Val> } {
      const vals = new Map<number, Val>();
      const inline = new Map<number, Val>();
      for (let k = 0; k < 20; k++) {
        vals.set(k, val(k, 0));
        inline.set(k, val(k, 0));
      }
      if (committed) {
        for (let k = 0; k < 5; k++) vals.set(k, val(k, 1));
        for (let k = 10; k < 13; k++) vals.delete(k);
        for (let k = 100; k < 105; k++) vals.set(k, val(k, 1));
        inline.set(200, val(200, 1));
        inline.delete(19);
      }
      return { vals, inline };
    }

    async function verify(committed: boolean, where: string): Promise<void> {
      const db = await Database.open({ folder });
      try {
        const want = expected(committed);
        for (const store of ['vals', 'inline'] as const) {
          const got = await readAll<Val>(db, store);
          assert.deepEqual(
            [...got].sort(([a], [b]) => (a as number) - (b as number)),
            [...want[store]].sort(([a], [b]) => a - b),
            `${where}: ${store} should be the ${committed ? 'committed' : 'previous'} state`,
          );
          await assertClean(db, store, want[store].size);
        }
        // and it stays writable
        await db.transaction('write', async (tx) => void (await (await db.openBtree<number, Val>(tx, 'vals')).add(999, val(999, 2))));
        await db.transaction('write', async (tx) => void (await (await db.openBtree<number, Val>(tx, 'vals')).remove(999)));
      } finally {
        await db.close();
      }
    }

    const before = ['commit.afterPrepareLog', 'commit.afterBlobs'];
    const after = [
      'commit.afterPlg',
      'cow.afterCowSync',
      'cow.afterSectorWrite',
      'cow.afterSectorSync',
      'commit.afterFlip',
      'commit.afterStoreInfo',
      'commit.afterDone',
      'commit.afterCleanup',
    ];

    for (const point of before) {
      it(`E58: crash at ${point} (before the commit point): undo deletes only the new blobs; the old values stay readable`, async () => {
        await setup();
        await crashDuring(folder, point, change);
        await verify(false, point);
      });
    }

    for (const point of after) {
      it(`E93: crash at ${point} (after the commit point): the commit is redone, not undone, counts included; obsolete blobs cleaned`, async () => {
        await setup();
        await crashDuring(folder, point, change);
        await verify(true, point);
      });
    }

    for (const point of ['cow.afterSectorWrite', 'commit.afterFlip']) {
      it(`E93: a second crash during recovery (at ${point} of the redo) then a reopen still gives the committed state (REC-2 idempotence)`, async () => {
        await setup();
        await crashDuring(folder, 'commit.afterPlg', change);
        // the redo at open writes the registry again: die in the middle of it
        const recoveryPoint = point === 'commit.afterFlip' ? 'cow.afterSectorSync' : point;
        await crashDuring(folder, recoveryPoint, async () => undefined);
        await verify(true, `second crash at ${recoveryPoint}`);
      });
    }
  });

  // -------------------------------------------------------------------------------------------
  it('E69: a handle never gets a second registry copy when slots before it are freed (REG-2)', async () => {
    // One sector per segment: every handle competes for its 65 slots, overflow goes to segment 2+.
    const model = new Map<number, number>();
    const rnd = new SeededRandom(69);
    for (let round = 0; round < 6; round++) {
      const db = await Database.open({ folder, registryHashMod: 1 });
      try {
        await db.transaction('write', async (tx) => {
          const t = await db.newBtree<number, number>(tx, 'dense', { slotLength: 4 });
          const ops = round === 0 ? 400 : 150;
          for (let i = 0; i < ops; i++) {
            const k = Math.floor(rnd.nextFloat() * 600);
            const r = rnd.nextFloat();
            if (model.has(k) && r < 0.5) {
              assert.ok(await t.remove(k));
              model.delete(k);
            } else if (model.has(k)) {
              assert.ok(await t.update(k, round));
              model.set(k, round);
            } else {
              assert.ok(await t.add(k, round));
              model.set(k, round);
            }
          }
        });
        // removes in key ranges free whole nodes (and their slots) at once
        const lo = Math.floor(rnd.nextFloat() * 500);
        await db.transaction('write', async (tx) => {
          const t = await db.newBtree<number, number>(tx, 'dense');
          for (const k of [...model.keys()].filter((k) => k >= lo && k < lo + 60)) {
            assert.ok(await t.remove(k));
            model.delete(k);
          }
        });
        const check = await db.checkStore('dense');
        assert.equal(check.count, model.size);
      } finally {
        await db.close();
      }
      // Every logical id appears in exactly one slot of all segment files.
      const dir = join(folder, 'stores', 'dense');
      const seen = new Map<string, number>();
      const segments = readdirSync(dir).filter((f) => f.endsWith('.reg'));
      for (const f of segments) {
        const bytes = readFileSync(join(dir, f));
        for (let sector = 0; sector < bytes.length / SECTOR_SIZE; sector++) {
          for (let slot = 0; slot < 65; slot++) {
            const at = sector * SECTOR_SIZE + 4 + slot * 62;
            if (bytes[at + 61] !== 1) continue;
            const id = bytes.subarray(at, at + 16).toString('hex');
            seen.set(id, (seen.get(id) ?? 0) + 1);
          }
        }
      }
      const dups = [...seen].filter(([, n]) => n > 1);
      assert.deepEqual(dups, [], `round ${round}: handles stored twice`);
      const db2 = await Database.open({ folder }); // loading also rejects a duplicate with CORRUPT
      try {
        const all = await readAll<number>(db2, 'dense');
        assert.deepEqual([...all].sort(([a], [b]) => (a as number) - (b as number)), [...model].sort(([a], [b]) => a - b));
        const check = await db2.checkStore('dense');
        assert.equal(check.handles, seen.size, 'every stored handle is a live node');
        if (round === 0) assert.ok(segments.length >= 2, `the workload should overflow into segment 2 (got ${segments.length})`);
      } finally {
        await db2.close();
      }
    }
  });

  // -------------------------------------------------------------------------------------------
  describe('E72: a corrupt block is never used silently (REG-4, COW-4, FMT-1)', () => {
    async function setupCommits(valueInNode: boolean): Promise<void> {
      const db = await Database.open({ folder });
      try {
        for (let round = 0; round < 4; round++) {
          await db.transaction('write', async (tx) => {
            const t = await db.newBtree<number, string>(tx, 'kv', { slotLength: 4, valueInNode });
            for (let k = round * 10; k < round * 10 + 10; k++) await t.add(k, `value ${k}`);
            if (round > 0) await t.update(0, `round ${round}`);
          });
        }
      } finally {
        await db.close();
      }
    }

    function flipRegistryByte(): void {
      const path = join(folder, 'stores', 'kv', 'kv-1.reg');
      const bytes = readFileSync(path);
      let sector = -1;
      for (let s = 0; s < bytes.length / SECTOR_SIZE && sector < 0; s++) {
        if (bytes.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE).some((b) => b !== 0)) sector = s;
      }
      assert.ok(sector >= 0, 'a non-empty sector');
      const at = sector * SECTOR_SIZE + 4 + 20; // inside slot 0's physical id A
      const fd = openSync(path, 'r+');
      try {
        writeSync(fd, Buffer.from([bytes[at]! ^ 0x40]), 0, 1, at);
      } finally {
        closeSync(fd);
      }
    }

    const cowOf = (): string => join(folder, 'stores', 'kv', 'kv-1.cow');

    it('E72: a registry sector with a flipped byte makes open fail with CORRUPT (stale cow images present)', async () => {
      await setupCommits(true);
      assert.ok(statSync(cowOf()).size > 0, 'the cow file holds before-images of finished commits');
      flipRegistryByte();
      await assert.rejects(Database.open({ folder }), codeOf('CORRUPT'));
    });

    it('E72: ... and with an empty cow file, or none', async () => {
      await setupCommits(true);
      flipRegistryByte();
      truncateSync(cowOf(), 0);
      await assert.rejects(Database.open({ folder }), codeOf('CORRUPT'));
      unlinkSync(cowOf());
      await assert.rejects(Database.open({ folder }), codeOf('CORRUPT'));
    });

    it('E72: an open refused with CORRUPT closes the files it opened', async () => {
      await setupCommits(true);
      flipRegistryByte();
      const inner = new NodeFileSystem();
      const open = new Set<string>();
      const fs: FileSystem = Object.assign(Object.create(inner) as FileSystem, {
        open: async (path: string, mode: OpenMode): Promise<FileHandle> => {
          const handle = await inner.open(path, mode);
          const token = `${path}#${Math.random()}`;
          open.add(token);
          return Object.assign(Object.create(handle) as FileHandle, {
            close: async () => {
              open.delete(token);
              await handle.close();
            },
          });
        },
      });
      await assert.rejects(Database.open({ folder, env: { ...realEnv(), fs } }), codeOf('CORRUPT'));
      assert.deepEqual([...open].map((t) => t.replace(/#.*$/, '').slice(folder.length)), [], 'files left open by the refused open');
    });

    it('E72: a node blob or value blob with a flipped byte is reported as CORRUPT when read', async () => {
      for (const valueInNode of [true, false]) {
        folder = join(tmp.path, `valueInNode-${valueInNode}`);
        await setupCommits(valueInNode);
        const files = blobFiles(folder, 'kv');
        const dir = join(folder, 'stores', 'kv', 'blobs');
        for (const [id, bytes] of files) {
          const fd = openSync(join(dir, id.slice(0, 2), id), 'r+');
          try {
            const at = bytes.length - 1; // payload byte: the CRC must catch it
            writeSync(fd, Buffer.from([bytes[at]! ^ 0x01]), 0, 1, at);
          } finally {
            closeSync(fd);
          }
        }
        const db = await Database.open({ folder });
        try {
          await assert.rejects(readAll(db, 'kv'), codeOf('CORRUPT'), `valueInNode ${valueInNode}`);
        } finally {
          await db.close();
        }
      }
    });
  });

  // -------------------------------------------------------------------------------------------
  it('E76: a relative folder is resolved once; everything lives under the absolute path', async () => {
    const rel = relative(process.cwd(), join(folder, 'data'));
    assert.ok(!rel.startsWith('/'), 'a relative path');
    const db = await Database.open({ folder: rel });
    try {
      assert.equal(db.folder, resolve(folder, 'data'));
      await db.transaction('write', async (tx) => void (await (await db.newBtree<number, number>(tx, 'r', { slotLength: 4 })).add(1, 1)));
      for (let i = 2; i < 30; i++) await db.transaction('write', async (tx) => void (await (await db.openBtree<number, number>(tx, 'r')).add(i, i)));
    } finally {
      await db.close();
    }
    assert.deepEqual(readdirSync(folder), ['data'], 'nothing written beside the data folder');
    const reg = readdirSync(join(folder, 'data', 'stores', 'r')).sort();
    assert.deepEqual(reg, ['blobs', 'r-1.cow', 'r-1.reg', 'storeinfo'], 'cow and registry files sit next to each other');
    const abs = await Database.open({ folder: join(folder, 'data') });
    try {
      assert.equal((await abs.checkStore('r')).count, 29);
    } finally {
      await abs.close();
    }
  });

  // -------------------------------------------------------------------------------------------
  it('E77: registry answers match questions: a commit over many nodes with a half-warm cache keeps every key with its value (REG-3)', async () => {
    const model = new Map<number, { k: number; gen: number }>();
    const setupDb = await Database.open({ folder });
    try {
      await setupDb.transaction('write', async (tx) => {
        const t = await setupDb.newBtree<number, { k: number; gen: number }>(tx, 'many', { slotLength: 4, valueInNode: false });
        for (let k = 0; k < 400; k++) {
          await t.add(k, { k, gen: 0 });
          model.set(k, { k, gen: 0 });
        }
      });
    } finally {
      await setupDb.close();
    }
    for (let round = 1; round <= 3; round++) {
      const db = await Database.open({ folder, nodeCacheSize: 5 });
      try {
        // warm a few nodes only: the commit then mixes cached and uncached nodes
        await db.transaction('read', async (tx) => {
          const t = await db.openBtree<number, { k: number; gen: number }>(tx, 'many');
          for (const k of [7, 150, 333]) await t.find(k);
        });
        await db.transaction('write', async (tx) => {
          const t = await db.openBtree<number, { k: number; gen: number }>(tx, 'many');
          for (const k of [...model.keys()]) {
            if (k % (3 + round) === 0) {
              assert.ok(await t.update(k, { k, gen: round }));
              model.set(k, { k, gen: round });
            } else if (k % (11 + round) === 1) {
              assert.ok(await t.remove(k));
              model.delete(k);
            }
          }
          for (let k = 1000 * round; k < 1000 * round + 40; k++) {
            assert.ok(await t.add(k, { k, gen: round }));
            model.set(k, { k, gen: round });
          }
        });
        const sorted = [...model].sort(([a], [b]) => a - b);
        const forward = await db.transaction('read', async (tx) => {
          const t = await db.openBtree<number, { k: number; gen: number }>(tx, 'many');
          const out: Array<[number, { k: number; gen: number }]> = [];
          for await (const e of t.range()) out.push(e);
          return out;
        });
        assert.deepEqual(forward, sorted, `round ${round}: forward scan`);
        const backward = await db.transaction('read', async (tx) => {
          const t = await db.openBtree<number, { k: number; gen: number }>(tx, 'many');
          const out: number[] = [];
          for await (const [k] of t.range({ reverse: true, lt: 1000 * round + 20, gte: 100, limit: 50 })) out.push(k);
          return out;
        });
        assert.deepEqual(
          backward,
          sorted
            .map(([k]) => k)
            .filter((k) => k >= 100 && k < 1000 * round + 20)
            .reverse()
            .slice(0, 50),
          `round ${round}: bounded reverse scan`,
        );
        await assertClean(db, 'many', model.size);
      } finally {
        await db.close();
      }
    }
  });

  // -------------------------------------------------------------------------------------------
  it('E115: the in-memory coordinator caches nothing with a TTL <= 0, and expires entries by the clock (LOCK-4)', async () => {
    const clock = new FakeClock();
    const c = new MemoryCoordinator(clock, new SeededRandom(115));
    const bytes = new Uint8Array([1, 2, 3]);
    for (const ttl of [0, -1, -60_000, Number.NaN]) {
      await c.cacheSet(`k${ttl}`, bytes, ttl);
      assert.equal(await c.cacheGet(`k${ttl}`), null, `ttl ${ttl} must not cache`);
      clock.advance(10 * 365 * 24 * 3600_000);
      assert.equal(await c.cacheGet(`k${ttl}`), null, `ttl ${ttl} must not cache (later)`);
    }
    await c.cacheSet('short', bytes, 100);
    assert.deepEqual(await c.cacheGet('short'), bytes);
    clock.advance(100);
    assert.equal(await c.cacheGet('short'), null, 'expired at its TTL');
    // a lock taken with a TTL <= 0 is not held forever either
    assert.equal(await c.lock('L', 'a', 0), null);
    clock.advance(1);
    assert.equal(await c.lock('L', 'b', 1000), null, 'a zero-TTL lock does not block others');
  });

  // -------------------------------------------------------------------------------------------
  it('E123: unlock and extend are compare-and-set: a non-owner (or a former owner) cannot release a lock (LOCK-4)', async () => {
    const clock = new FakeClock();
    const c = new MemoryCoordinator(clock, new SeededRandom(123));
    assert.equal(await c.lock('L', 'a', 1000), null);
    assert.equal(await c.lock('L', 'b', 1000), 'a', 'b sees the owner');
    assert.equal(await c.unlock('L', 'b'), false, 'b cannot unlock');
    assert.equal(await c.extend('L', 'b', 1000), false, 'b cannot extend');
    assert.equal(await c.owner('L'), 'a', 'still held by a');
    clock.advance(1001); // a's lock expired ...
    assert.equal(await c.lock('L', 'b', 1000), null, '... b takes it');
    assert.equal(await c.unlock('L', 'a'), false, 'the former owner cannot delete the new holder');
    assert.equal(await c.extend('L', 'a', 1000), false);
    assert.equal(await c.owner('L'), 'b');
    assert.equal(await c.unlock('L', 'b'), true);
    assert.equal(await c.owner('L'), null);
  });

  // -------------------------------------------------------------------------------------------
  function recordingCoordinator(base: Coordinator, keys: string[]): Coordinator {
    return {
      kind: base.kind,
      runId: () => base.runId(),
      cacheGet: (k) => (keys.push(k), base.cacheGet(k)),
      cacheSet: (k, v, t) => (keys.push(k), base.cacheSet(k, v, t)),
      cacheDelete: (ks) => (keys.push(...ks), base.cacheDelete(ks)),
      lock: (k, o, t) => (keys.push(k), base.lock(k, o, t)),
      unlock: (k, o) => (keys.push(k), base.unlock(k, o)),
      extend: (k, o, t) => (keys.push(k), base.extend(k, o, t)),
      owner: (k) => (keys.push(k), base.owner(k)),
      close: () => base.close(),
    };
  }

  it('E129: every coordinator key a database uses is prefixed once with sop:<absolute folder>: (LOCK-4)', async () => {
    const base = realEnv();
    const keys: string[] = [];
    const db = await Database.open({ folder: relative(process.cwd(), folder), env: { ...base, coordinator: recordingCoordinator(base.coordinator, keys) } });
    try {
      await db.transaction('write', async (tx) => {
        const t = await db.newBtree<number, number>(tx, 'kv', { slotLength: 4 });
        for (let k = 0; k < 20; k++) await t.add(k, k);
      });
      await db.transaction('write', async (tx) => {
        const t = await db.openBtree<number, number>(tx, 'kv');
        assert.ok(await t.update(1, 10));
        assert.ok(await t.remove(7));
      });
      await db.sweep();
      assert.ok(keys.length > 0, 'commits lock through the coordinator');
      const prefix = `sop:${resolve(folder)}:`;
      for (const k of keys) {
        assert.ok(k.startsWith(prefix), `key ${k} is namespaced by the absolute folder`);
        assert.ok(!k.slice(prefix.length).includes('sop:'), `key ${k} is prefixed twice`);
        if (k.endsWith(':sweep')) assert.equal(k, `${prefix}sweep`);
      }
    } finally {
      await db.close();
    }
  });

  it('E129 (and E92): the sweep lock is exactly sop:<folder>:sweep, excludes other sweepers, and is released after each sweep (LOCK-4, IDLE-1)', async () => {
    const base = realEnv();
    const keys: string[] = [];
    const env = { ...base, coordinator: recordingCoordinator(base.coordinator, keys) };
    // A clustered sweeper over this folder, namespaced the way Database namespaces it.
    const db = await Database.open({ folder });
    const namespace = `sop:${db.folder}`;
    await db.close();
    const repo = new StoreRepository(env, db.folder, 250);
    await repo.init();
    try {
      const maintenance = new Maintenance(env, join(db.folder, 'translogs'), repo, namespace, () => false, { sweepIntervalMs: 300_000, busySweepIntervalMs: 120_000 }, true);
      const sweepKey = `sop:${db.folder}:sweep`;
      assert.ok(await maintenance.sweep(), 'a sweep ran');
      assert.deepEqual([...new Set(keys.filter((k) => k.endsWith('sweep')))], [sweepKey]);
      assert.equal(await base.coordinator.owner(sweepKey), null, 'E92: the sweep lock is released after the sweep');
      assert.equal(await base.coordinator.lock(sweepKey, 'another-process', 60_000), null);
      assert.equal(await maintenance.sweep(), null, 'a held sweep lock skips the sweep');
      assert.equal(await base.coordinator.unlock(sweepKey, 'another-process'), true);
      assert.ok(await maintenance.sweep());
    } finally {
      await repo.close();
    }
  });
});
