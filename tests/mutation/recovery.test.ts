/**
 * Recovery (src/txn/recovery.ts) after crashes at named points and with damaged or reappearing
 * logs: which transactions are redone (in commit-sequence order), cleaned or undone (REC-1,
 * REC-2, REC-4), the store-info rule of redo (REC-3), the blobs removed per store, abandoned
 * store creations (STORE-3), logs read again after a spoiled read, stores removed since.
 *
 * Some states are built by hand from files saved during earlier crashes (a priority log put
 * back, a registry restored from before a flip); each such test says what it models. Each test
 * names the mutants it kills in a comment.
 *
 * Every database here commits in place (`journal: false`): these tests name the in-place
 * protocol's steps, logs and files (clustered mode's protocol; journal mode, the standalone
 * default, has its own in tests/journal and the I/O-error loop).
 */
import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Database, NodeFileSystem, realEnv } from '../../src/index.js';
import {
  type SpoilingFs as SpoilingFsType,
  O,
  S,
  SpoilingFs,
  assertClean,
  code,
  copyFolder,
  contents,
  crashDuring,
  envWith,
  oValues,
  range,
  sValues,
  seedTemplate,
  storeInfoOnDisk,
  tempFolder,
  translogs,
} from './helpers.js';

type Db = Database;

const updateS = async (db: Db, value = (k: number) => `w${k}`, keys = range(6)): Promise<void> => {
  await db.transaction('write', async (tx) => {
    const s = await db.openBtree<number, string>(tx, 's');
    for (const k of keys) assert.ok(await s.update(k, value(k)));
  });
};

const sWith = (value = (k: number) => `w${k}`, keys = range(6)): Map<unknown, string> => {
  const m = sValues();
  for (const k of keys) m.set(k, value(k));
  return m;
};

/** Files of translogs/ by name, to put back later (a log that "reappears"). */
function saveLogs(folder: string): Map<string, Buffer> {
  return new Map(translogs(folder).map((f) => [f, readFileSync(join(folder, 'translogs', f))]));
}

function restoreFiles(dir: string, files: Map<string, Buffer>): void {
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
}

/** A store's registry segments, cow files and store info (everything but its blobs). */
function saveStoreMeta(folder: string, store: string): Map<string, Buffer> {
  const dir = join(folder, 'stores', store);
  return new Map(readdirSync(dir).filter((f) => f !== 'blobs' && f !== 'claims').map((f) => [f, readFileSync(join(dir, f))]));
}

describe('mutation: recovery (REC-1..REC-4, STORE-3)', function () {
  this.timeout(60_000);
  let template: ReturnType<typeof tempFolder>;
  let tmp: ReturnType<typeof tempFolder>;
  let folder: string;
  let db: Db | undefined;

  before(async () => {
    template = tempFolder('rec-template');
    await seedTemplate(template.path);
  });
  after(() => template.remove());

  /** A fresh copy of the template database. */
  function copy(name = 'db'): string {
    const path = join(tmp.path, name);
    copyFolder(template.path, path);
    return path;
  }

  beforeEach(() => {
    tmp = tempFolder('rec');
    folder = copy();
  });
  afterEach(async () => {
    await db?.close();
    db = undefined;
    tmp.remove();
  });

  async function open(env = envWith()): Promise<Db> {
    db = await Database.open({ journal: false, folder, env });
    return db;
  }

  /** After recovery: contents, clean structure of both stores, no log left. */
  async function expectState(s: Map<unknown, string>, o = oValues()): Promise<void> {
    assert.deepEqual(await contents(db!, 's'), s);
    assert.deepEqual(await contents(db!, 'o'), o);
    await assertClean(db!, 's', s.size);
    await assertClean(db!, 'o', o.size);
    assert.deepEqual(translogs(folder), [], 'recovery ended every transaction');
  }

  /** Updates s (keys 0..5) and removes every item of o, in one transaction. */
  const changeBoth = async (d: Db): Promise<void> => {
    await d.transaction('write', async (tx) => {
      const s = await d.openBtree<number, string>(tx, 's');
      for (const k of range(6)) assert.ok(await s.update(k, `w${k}`));
      const o = await d.openBtree<number, string>(tx, 'o');
      for (const k of range(O)) assert.ok(await o.remove(k));
    });
  };

  // Kills: needsRedo's filter (`s.plg && !s.done`) inverted or widened; redo's registry write or
  // republish removed; the count rule `commit.count >= 0` → `> 0` (o's count goes to 0) or
  // `true` (s logged -1); removeBlobs of the log's obsolete blobs skipped or grouped wrong
  // (orphans in one of the two stores); `report.redone++` mutated.
  it('REC-2, REC-3, TX-8: a crash after the priority log is redone in both stores: handles, counts (0, and -1 kept), obsolete blobs', async () => {
    await crashDuring(folder, 'commit.afterPlg', changeBoth);
    await open();
    assert.deepEqual(db!.recovery, { redone: 1, undone: 0, cleaned: 0 });
    assert.equal(storeInfoOnDisk(folder, 'o').count, 0);
    assert.equal(storeInfoOnDisk(folder, 's').count, S);
    await expectState(sWith(), new Map());
  });

  // Kills: the "done" branch (`if (state.done)`) or its find (`r.type === 'done'`) mutated, the
  // done record's obsolete list not used (orphans), `done` computed with `every`, the obsolete
  // list written empty by the commit's finish.
  it('REC-1, LOG-3: a crash after "done" is finished from the done record: obsolete blobs of both stores deleted, nothing redone', async () => {
    await crashDuring(folder, 'commit.afterDone', changeBoth);
    await open();
    assert.deepEqual(db!.recovery, { redone: 0, undone: 0, cleaned: 1 });
    await expectState(sWith(), new Map());
  });

  // Kills: undo's removal of the prepared blobs skipped; removeBlobs grouping broken (orphans in
  // one store); the `!state.plg` branch mutated; `report.undone++` mutated.
  it('REC-1, REC-4, TX-10: a crash before the commit point is undone: prepared blobs of both stores deleted, committed ones kept', async () => {
    await crashDuring(folder, 'commit.afterBlobs', changeBoth);
    await open();
    assert.deepEqual(db!.recovery, { redone: 0, undone: 1, cleaned: 0 });
    await expectState(sValues(), oValues());
  });

  // Kills: the sort in needsRedo removed or its comparator mutated. Models two committed but
  // unapplied transactions, the second changing a node the first added, listed newest first:
  // redoing the newer one first skips its change (the node does not exist yet) and deletes the
  // blob the older one's node needs.
  it('REC-2: priority logs are redone in commit-sequence order, whatever order the folder lists them in', async () => {
    const late = range(6, 100);
    await crashDuring(folder, 'commit.afterPlg', async (d) => {
      await d.transaction('write', async (tx) => {
        const s = await d.openBtree<number, string>(tx, 's');
        for (const k of late) assert.ok(await s.add(k, 'first')); // splits: new leaves
      });
    });
    const firstLogs = saveLogs(folder);
    const beforeFirst = saveStoreMeta(folder, 's'); // registry and info as before the first flip
    await (await open()).close(); // redoes the first
    db = undefined;
    await crashDuring(folder, 'commit.afterPlg', async (d) => {
      await d.transaction('write', async (tx) => {
        const s = await d.openBtree<number, string>(tx, 's');
        for (const k of late) assert.ok(await s.update(k, 'second'));
      });
    });
    const secondTid = translogs(folder).find((f) => f.endsWith('.plg'))!.slice(0, 36);
    restoreFiles(join(folder, 'stores', 's'), beforeFirst);
    restoreFiles(join(folder, 'translogs'), firstLogs);
    assert.equal(translogs(folder).filter((f) => f.endsWith('.plg')).length, 2);

    class NewestFirst extends NodeFileSystem {
      override async readdir(path: string): Promise<string[]> {
        const names = await super.readdir(path);
        if (!path.endsWith('translogs')) return names;
        return names.sort((a, b) => Number(b.startsWith(secondTid)) - Number(a.startsWith(secondTid)));
      }
    }
    await open(envWith(new NewestFirst()));
    assert.equal(db!.recovery.redone, 2);
    const s = sValues();
    for (const k of late) s.set(k, 'second');
    await expectState(s);
  });

  // Kills: redo's `log.seq >= store.info.commitSeq` → `true` (the older log would set the count
  // back). Models a priority log that reappears (LOG-4) after a later commit wrote the info.
  it('REC-3, LOG-4: an older priority log that reappears after a later commit does not set the count back', async () => {
    await crashDuring(folder, 'commit.afterPlg', async (d) => {
      await d.transaction('write', async (tx) => {
        const s = await d.openBtree<number, string>(tx, 's');
        for (const k of range(3, 100)) assert.ok(await s.add(k, 'old'));
      });
    });
    const older = saveLogs(folder);
    await open(); // redoes it: count S + 3
    await db!.transaction('write', async (tx) => void assert.ok(await (await db!.openBtree<number, string>(tx, 's')).add(200, 'new')));
    const infoAfter = storeInfoOnDisk(folder, 's');
    assert.equal(infoAfter.count, S + 4);
    await db!.close();
    db = undefined;
    restoreFiles(join(folder, 'translogs'), older);
    await open();
    assert.equal(db!.recovery.redone, 1);
    assert.equal(storeInfoOnDisk(folder, 's').count, S + 4, 'the count of the later commit stands');
    assert.equal(storeInfoOnDisk(folder, 's').commitSeq, infoAfter.commitSeq);
    const s = sValues();
    for (const k of range(3, 100)) s.set(k, 'old');
    s.set(200, 'new');
    await expectState(s);
  });

  // Kills: redo's `log.seq >= store.info.commitSeq` → `>`: a store info that already shows the
  // commit is still rewritten, since a crashed process may have left it in the page cache only.
  it('REC-3, REC-2: redo rewrites a store info that already shows its commit (equal seq)', async () => {
    await crashDuring(folder, 'commit.afterStoreInfo', async (d) => {
      await d.transaction('write', async (tx) => void assert.ok(await (await d.openBtree<number, string>(tx, 's')).add(100, 'x')));
    });
    const written = storeInfoOnDisk(folder, 's');
    assert.equal(written.count, S + 1, 'the crash came after the store info was written');
    const base = realEnv();
    const later = written.updatedAt + 86_400_000;
    await open({ ...base, clock: { now: () => later, monotonic: () => base.clock.monotonic(), sleep: (ms, signal) => base.clock.sleep(ms, signal) } });
    assert.equal(db!.recovery.redone, 1);
    const info = storeInfoOnDisk(folder, 's');
    assert.equal(info.updatedAt, later, 'redo wrote the store info again');
    assert.equal(info.commitSeq, written.commitSeq);
    assert.equal(info.count, S + 1);
    const s = sValues();
    s.set(100, 'x');
    await expectState(s);
  });

  // Kills: flippedStore's `prepared.has(physicalA) || prepared.has(physicalB)` reduced to either
  // side or to `&&`; `if (flippedIn !== null)` → false (undoing a committed transaction);
  // the corruption check `flippedIn !== null && state.plg === null` → `||`.
  it('REC-4: a finished commit whose "done" record is damaged is kept, whichever handle side its blobs are on', async () => {
    for (const [round, value] of [
      [1, (k: number) => `b${k}`], // first update of each node: new blobs on side B
      [2, (k: number) => `a${k}`], // second: back on side A
    ] as const) {
      await crashDuring(folder, 'commit.afterCleanup', (d) => updateS(d, value, range(S)));
      const [log] = translogs(folder);
      assert.ok(log?.endsWith('.log') && translogs(folder).length === 1, `round ${round}: only the step log is left`);
      const path = join(folder, 'translogs', log);
      const bytes = readFileSync(path);
      bytes[bytes.length - 3]! ^= 0x01; // inside the last record: "done"
      writeFileSync(path, bytes);
      await open();
      assert.deepEqual(db!.recovery, { redone: 0, undone: 0, cleaned: 1 }, `round ${round}`);
      await expectState(sWith(value, range(S)));
      await db!.close();
      db = undefined;
    }
  });

  // Kills: the corruption check for an unreadable priority log whose changes reached the
  // registry removed or weakened (`state.plg === null` → `!== null`).
  it('REC-4: an unreadable priority log whose changes reached the registry makes open fail with CORRUPT', async () => {
    await crashDuring(folder, 'commit.afterStoreInfo', (d) => updateS(d));
    const plg = translogs(folder).find((f) => f.endsWith('.plg'))!;
    truncateSync(join(folder, 'translogs', plg), 0);
    await assert.rejects(Database.open({ journal: false, folder }), code('CORRUPT'));
  });

  // Kills: readState's `if (!parsedLog.intact) throw` removed.
  it('REC-4: a step log damaged before its end makes open fail with CORRUPT', async () => {
    await crashDuring(folder, 'commit.afterCleanup', (d) => updateS(d));
    const [log] = translogs(folder);
    const path = join(folder, 'translogs', log!);
    const bytes = readFileSync(path);
    bytes[30]! ^= 0x01; // inside the first record ("prepare"); "done" follows intact
    writeFileSync(path, bytes);
    await assert.rejects(Database.open({ journal: false, folder }), code('CORRUPT'));
  });

  // Kills: readState's retry loop disabled (`attempt < READ_ATTEMPTS` → false) or its
  // `parsedPlg === null` condition mutated: a committed transaction would be undone.
  it('REC-1, ACID-3: a priority log read spoiled in transit is read again, and the commit redone', async () => {
    await crashDuring(folder, 'commit.afterPlg', (d) => updateS(d));
    const fs = new SpoilingFs((ext, n) => ext === '.plg' && n === 1);
    await open(envWith(fs));
    assert.equal(fs.reads.get('.plg'), 2);
    assert.deepEqual(db!.recovery, { redone: 1, undone: 0, cleaned: 0 });
    await expectState(sWith());
  });

  // Kills: the loop's `!parsedLog.clean` condition or the `if (!parsedLog.clean)` re-read
  // removed: the prepare record would be lost and its blobs orphaned.
  it('REC-1, REC-4: a step log read spoiled in transit is read again, and its prepared blobs undone', async () => {
    await crashDuring(folder, 'commit.afterBlobs', (d) => updateS(d));
    const fs = new SpoilingFs((ext, n) => ext === '.log' && n === 1);
    await open(envWith(fs));
    assert.equal(fs.reads.get('.log'), 2);
    assert.deepEqual(db!.recovery, { redone: 0, undone: 1, cleaned: 0 });
    await expectState(sValues());
  });

  // Kills: `if (!parsedLog.clean)` → true and `if (parsedPlg === null)` → true: a clean read
  // must never be replaced by a later spoiled one (sim seed 598579142).
  it('REC-1: clean reads are kept while the other log of the transaction is read again', async () => {
    // The step log reads clean first; the priority log is torn (empty), so the loop runs.
    await crashDuring(folder, 'commit.afterBlobs', (d) => updateS(d));
    const log = translogs(folder)[0]!;
    writeFileSync(join(folder, 'translogs', log.replace(/\.log$/, '.plg')), new Uint8Array(0));
    let fs: SpoilingFsType = new SpoilingFs((ext, n) => ext === '.log' && n > 1);
    await open(envWith(fs));
    assert.ok((fs.reads.get('.plg') ?? 0) > 1, 'the torn priority log was read again');
    assert.deepEqual(db!.recovery, { redone: 0, undone: 1, cleaned: 0 });
    await expectState(sValues());
    await db!.close();
    db = undefined;

    // The priority log reads clean first; the step log's first read is spoiled, so the loop runs.
    folder = copy('second');
    await crashDuring(folder, 'commit.afterPlg', (d) => updateS(d));
    fs = new SpoilingFs((ext, n) => (ext === '.log' && n === 1) || (ext === '.plg' && n > 1));
    await open(envWith(fs));
    assert.equal(fs.reads.get('.log'), 2);
    assert.deepEqual(db!.recovery, { redone: 1, undone: 0, cleaned: 0 });
    await expectState(sWith());
  });

  // Kills: the createStore undo skipped or its `record.type !== 'createStore'` test inverted;
  // isUnused's `registry.size <= 1` → `< 1`; flippedStore's skip of non-prepare records removed.
  it('STORE-3, TX-10: a store created by a transaction that died before its commit point is removed', async () => {
    await crashDuring(folder, 'commit.afterBlobs', async (d) => {
      await d.transaction('write', async (tx) => {
        const f = await d.newBtree<number, string>(tx, 'fresh', { slotLength: 4 });
        for (const k of range(3)) assert.ok(await f.add(k, 'f'));
        assert.ok(await (await d.openBtree<number, string>(tx, 's')).update(0, 'x'));
      });
    });
    assert.ok(readdirSync(join(folder, 'stores')).includes('fresh'), 'the store was created before the crash');
    await open();
    assert.deepEqual(db!.recovery, { redone: 0, undone: 1, cleaned: 0 });
    assert.deepEqual((await db!.listStores()).map((s) => s.name), ['o', 's']);
    await expectState(sValues());
  });

  // Kills: isUnused's `commitSeq === 0` → true (a store committed to, now empty again, would be
  // removed), `store && isUnused(store)` → `||`.
  it('STORE-3: a store created by a dead transaction but committed to by others is kept, even when empty again', async () => {
    await crashDuring(
      folder,
      'commit.afterBlobs',
      async (d) => {
        const creator = await d.beginTransaction('write');
        await d.newBtree<number, string>(creator, 'shared', { slotLength: 4 });
        assert.ok(await (await d.openBtree<number, string>(creator, 's')).update(0, 'x'));
        await d.transaction('write', async (tx) => void assert.ok(await (await d.openBtree<number, string>(tx, 'shared')).add(1, 'one')));
        await d.transaction('write', async (tx) => void assert.ok(await (await d.openBtree<number, string>(tx, 'shared')).remove(1)));
        await creator.commit(); // dies at its commit.afterBlobs (the third one reached)
      },
      3,
    );
    await open();
    assert.deepEqual(db!.recovery, { redone: 0, undone: 1, cleaned: 0 });
    assert.deepEqual((await db!.listStores()).map((s) => s.name), ['o', 's', 'shared']);
    await assertClean(db!, 'shared', 0);
    await expectState(sValues());
  });

  // Kills: `if (!store) continue` in redo and flippedStore, and `if (store)` in removeBlobs,
  // removed or inverted.
  it('REC-1: a store removed since the crash is skipped by redo and by undo', async () => {
    for (const [point, expected] of [
      ['commit.afterPlg', { redone: 1, undone: 0, cleaned: 0 }],
      ['commit.afterBlobs', { redone: 0, undone: 1, cleaned: 0 }],
    ] as const) {
      folder = copy(point);
      await crashDuring(folder, point, async (d) => {
        await d.transaction('write', async (tx) => {
          assert.ok(await (await d.openBtree<number, string>(tx, 'o')).update(1, 'x')); // o sorts first
          for (const k of range(6)) assert.ok(await (await d.openBtree<number, string>(tx, 's')).update(k, `w${k}`));
        });
      });
      rmSync(join(folder, 'stores', 'o'), { recursive: true });
      await open();
      assert.deepEqual(db!.recovery, expected, point);
      assert.deepEqual((await db!.listStores()).map((s) => s.name), ['s']);
      const s = expected.redone ? sWith() : sValues();
      assert.deepEqual(await contents(db!, 's'), s);
      await assertClean(db!, 's', s.size);
      assert.deepEqual(translogs(folder), []);
      await db!.close();
      db = undefined;
    }
  });
});
