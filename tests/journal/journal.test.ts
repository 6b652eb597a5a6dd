/**
 * Journal mode (spec JNL-1..JNL-4) on real folders: the record format and what it refuses, the
 * syncs a commit costs, checkpoints, replay onto a folder whose unsynced writes were lost, and
 * the two replays that must not happen (a record older than the checkpoint mark, a record of a
 * store that was removed and created again). SIGKILLs at every journal crash point are in
 * tests/crash/; the simulator runs about one standalone seed in three in journal mode.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultyFileSystem, ioError } from '../../fault-injection/faulty-fs.js';
import { Database, SopError, realEnv } from '../../src/index.js';
import { decodeRecord, encodeRecord, type JournalRecord } from '../../src/journal/record.js';
import { countingFs, newCounters } from '../../benchmarks/lib/sop-adapter.js';

const STORE = 'kv';
const folders: string[] = [];

function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'sop-journal-'));
  folders.push(folder);
  return folder;
}

function wals(folder: string): string[] {
  return readdirSync(join(folder, 'translogs')).filter((n) => n.endsWith('.wal'));
}

async function putAll(db: Database, entries: Array<[number, string]>, create = false): Promise<void> {
  await db.transaction('write', async (tx) => {
    const tree = create ? await db.newBtree<number, string>(tx, STORE, { slotLength: 4 }) : await db.openBtree<number, string>(tx, STORE);
    for (const [k, v] of entries) await tree.upsert(k, v);
  });
}

async function contents(db: Database, name = STORE): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  await db.transaction('read', async (tx) => {
    const tree = await db.openBtree<number, string>(tx, name);
    for await (const [k, v] of tree.range()) out.set(k, v);
  });
  return out;
}

const sample: JournalRecord = {
  tid: '6f1c2b1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
  seq: 7,
  stores: [{ name: 'kv', rootId: '0f1c2b1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b', info: null }],
  blobs: [{ store: 'kv', id: '1f1c2b1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b', bytes: new Uint8Array([1, 2, 3]) }],
  sectors: [{ store: 'kv', segment: 1, sector: 3, bytes: new Uint8Array(4096).fill(9) }],
  obsolete: [{ store: 'kv', id: '2f1c2b1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b' }],
};

describe('journal mode (JNL-1..JNL-4)', function () {
  this.timeout(60_000);
  after(() => {
    for (const f of folders) rmSync(f, { recursive: true, force: true });
  });

  describe('record format (JNL-1)', () => {
    it('round-trips blobs, sector images and obsolete ids', () => {
      const back = decodeRecord(encodeRecord(sample), 'test');
      assert.ok(back);
      assert.equal(back.seq, 7);
      assert.deepEqual([...back.blobs[0]!.bytes], [1, 2, 3]);
      assert.equal(back.sectors[0]!.bytes.length, 4096);
      assert.equal(back.sectors[0]!.sector, 3);
      assert.deepEqual(back.obsolete, sample.obsolete);
    });

    it('reads a torn or flipped record as "not committed" (null)', () => {
      const bytes = encodeRecord(sample);
      assert.equal(decodeRecord(bytes.subarray(0, bytes.length - 100), 'torn'), null);
      const flipped = bytes.slice();
      flipped[200]! ^= 0x10;
      assert.equal(decodeRecord(flipped, 'flipped'), null);
    });

    it('refuses a record whose names would lead outside the store folders', () => {
      for (const bad of [
        { ...sample, stores: [{ ...sample.stores[0]!, name: '../escape' }] },
        { ...sample, blobs: [{ ...sample.blobs[0]!, store: '..' }] },
        { ...sample, blobs: [{ ...sample.blobs[0]!, id: '../../../etc/passwd' }] },
        { ...sample, obsolete: [{ store: 'kv', id: 'x/../../y' }] },
      ]) {
        assert.equal(decodeRecord(encodeRecord(bad), 'bad'), null, JSON.stringify(bad.stores.concat()));
      }
    });
  });

  describe('options', () => {
    it('is refused with clustered mode, with erasure coding, and with bad thresholds (INVALID_ARGUMENT)', async () => {
      const folder = tempFolder();
      const drives = [0, 1, 2].map(() => tempFolder());
      for (const options of [
        { folder, journal: true, mode: 'clustered' as const, redis: 'redis://127.0.0.1:1' },
        { folder, journal: true, erasureCoding: { dataShards: 2, parityShards: 1, drives } },
        { folder, journal: { maxRecords: 0 } },
        { folder, journal: { maxBytes: 1.5 } },
        { folder, journal: 'yes' as unknown as boolean },
      ]) {
        await assert.rejects(Database.open(options), (e: unknown) => SopError.is(e, 'INVALID_ARGUMENT'), JSON.stringify(options.journal));
      }
    });
  });

  describe('commits and checkpoints', () => {
    it('a single-item commit costs 2 syncs: the record and its folder entry (JNL-1, JNL-2)', async () => {
      const folder = tempFolder();
      const counters = newCounters();
      const env = realEnv();
      const db = await Database.open({ folder, journal: true, env: { ...env, fs: countingFs(env.fs, counters) } });
      try {
        await putAll(db, [[1, 'a']], true);
        for (let i = 0; i < 20; i++) {
          const before = counters.fsyncs;
          const writesBefore = counters.writes;
          await putAll(db, [[i, `v${i}`]]);
          assert.equal(counters.fsyncs - before, 2, `commit ${i}: syncs`);
          assert.ok(counters.writes > writesBefore, 'the commit wrote');
        }
        assert.equal(wals(folder).length, 21, 'one record per commit until a checkpoint');
      } finally {
        await db.close();
      }
      assert.deepEqual(wals(folder), [], 'close checkpoints');
    });

    it('checkpoints after maxRecords records and leaves the mark (JNL-3)', async () => {
      const folder = tempFolder();
      const db = await Database.open({ folder, journal: { maxRecords: 3 } });
      try {
        await putAll(db, [[0, 'x']], true);
        await putAll(db, [[1, 'y']]);
        assert.equal(wals(folder).length, 2);
        await putAll(db, [[2, 'z']]);
        assert.equal(wals(folder).length, 0, 'the third record triggered a checkpoint');
        assert.ok(existsSync(join(folder, 'translogs', 'journal.checkpoint')));
        await putAll(db, [[3, 'w']]);
        assert.equal(wals(folder).length, 1);
        assert.deepEqual([...(await contents(db)).keys()], [0, 1, 2, 3]);
      } finally {
        await db.close();
      }
    });
  });

  describe('replay at open (JNL-4)', () => {
    it('restores blobs and sectors whose unsynced writes were lost', async () => {
      const folder = tempFolder();
      const db = await Database.open({ folder, journal: true });
      const expected = new Map<number, string>();
      try {
        const first: Array<[number, string]> = Array.from({ length: 200 }, (_, i) => [i, `first-${i}`]);
        await putAll(db, first, true);
        for (const [k, v] of first) expected.set(k, v);
        for (let round = 0; round < 5; round++) {
          const batch: Array<[number, string]> = Array.from({ length: 40 }, (_, i) => [round * 37 + i, `round${round}-${i}`]);
          await putAll(db, batch);
          for (const [k, v] of batch) expected.set(k, v);
        }
        // A power loss: copy the folder as the page cache has it, then undo the unsynced writes
        // the journal must restore: every blob emptied, every registry segment zeroed.
        const copy = tempFolder();
        cpSync(folder, copy, { recursive: true });
        const storeDir = join(copy, 'stores', STORE);
        let emptied = 0;
        for (const sub of readdirSync(join(storeDir, 'blobs'))) {
          for (const blob of readdirSync(join(storeDir, 'blobs', sub))) {
            truncateSync(join(storeDir, 'blobs', sub, blob), 0);
            emptied++;
          }
        }
        for (const name of readdirSync(storeDir).filter((n) => n.endsWith('.reg'))) {
          writeFileSync(join(storeDir, name), new Uint8Array(readFileSync(join(storeDir, name)).length));
        }
        assert.ok(emptied > 0);
        const reopened = await Database.open({ folder: copy });
        try {
          assert.equal(reopened.journalReplay.replayed, 6, 'every record replayed');
          assert.deepEqual(await contents(reopened), expected);
          const check = await reopened.checkStore(STORE);
          assert.equal(check.count, expected.size);
          assert.equal(check.orphanBlobs, 0);
          assert.deepEqual(wals(copy), [], 'records deleted after the replay');
        } finally {
          await reopened.close();
        }
      } finally {
        await db.close();
      }
    });

    it('skips a record at or below the checkpoint mark (seed 1396: an older record replayed over newer sectors)', async () => {
      const folder = tempFolder();
      const db = await Database.open({ folder, journal: true });
      await putAll(db, [[1, 'old']], true);
      const saved = wals(folder).map((name) => [name, readFileSync(join(folder, 'translogs', name))] as const);
      await putAll(db, [[1, 'new'], [2, 'two']]);
      await db.close(); // checkpoint: both records gone, the mark covers them
      for (const [name, bytes] of saved) writeFileSync(join(folder, 'translogs', name), bytes); // a deletion that did not stick
      const reopened = await Database.open({ folder, journal: true });
      try {
        assert.equal(reopened.journalReplay.replayed, 0);
        assert.deepEqual(await contents(reopened), new Map([[1, 'new'], [2, 'two']]));
        assert.deepEqual(wals(folder), []);
      } finally {
        await reopened.close();
      }
    });

    it('skips the parts of a store that was removed and created again (another root id)', async () => {
      const folder = tempFolder();
      const db = await Database.open({ folder, journal: true });
      await putAll(db, [[1, 'first incarnation']], true);
      const saved = wals(folder).map((name) => [name, readFileSync(join(folder, 'translogs', name))] as const);
      await db.close();
      const again = await Database.open({ folder, journal: true });
      await again.removeBtree(STORE);
      await putAll(again, [[5, 'second incarnation']], true);
      await again.close();
      // Put the old record back and lower the mark so only the root id can stop the replay.
      for (const [name, bytes] of saved) writeFileSync(join(folder, 'translogs', name), bytes);
      rmSync(join(folder, 'translogs', 'journal.checkpoint'));
      const reopened = await Database.open({ folder });
      try {
        assert.deepEqual(await contents(reopened), new Map([[5, 'second incarnation']]));
        const check = await reopened.checkStore(STORE);
        assert.equal(check.orphanBlobs, 0);
      } finally {
        await reopened.close();
      }
    });
  });

  describe('failures (REC-5 in journal mode)', () => {
    it('a commit whose apply fails after its record stays committed and is replayed at the next open', async () => {
      const folder = tempFolder();
      let failBlobWrites = false;
      const fs = new FaultyFileSystem(realEnv().fs, (call) => (failBlobWrites && call.op === 'writeFile' && call.path.includes('/blobs/') ? ioError('EIO', call) : null));
      const db = await Database.open({ folder, journal: true, env: { ...realEnv(), fs } });
      await putAll(db, [[1, 'a']], true);
      failBlobWrites = true;
      await assert.rejects(putAll(db, [[1, 'b'], [2, 'c']]), (e: unknown) => SopError.is(e, 'IO'));
      assert.ok(db.failure, 'writes refused until reopen');
      await assert.rejects(db.beginTransaction('write'), (e: unknown) => SopError.is(e, 'UNAVAILABLE'));
      await db.close();
      assert.equal(wals(folder).length, 2, 'no checkpoint after the failure: the records stay');
      const reopened = await Database.open({ folder, journal: true });
      try {
        assert.equal(reopened.journalReplay.replayed, 2);
        assert.deepEqual(await contents(reopened), new Map([[1, 'b'], [2, 'c']]));
      } finally {
        await reopened.close();
      }
    });

    it('a commit whose record cannot be written rolls back and leaves no file (JNL-2)', async () => {
      const folder = tempFolder();
      let failRecord = false;
      const fs = new FaultyFileSystem(realEnv().fs, (call) => (failRecord && call.op === 'datasync' && call.path.endsWith('.wal') ? ioError('EIO', call) : null));
      const db = await Database.open({ folder, journal: true, env: { ...realEnv(), fs } });
      try {
        await putAll(db, [[1, 'a']], true);
        const blobsBefore = readdirSync(join(folder, 'stores', STORE, 'blobs')).flatMap((s) => readdirSync(join(folder, 'stores', STORE, 'blobs', s)));
        failRecord = true;
        await assert.rejects(putAll(db, [[1, 'b']]));
        failRecord = false;
        assert.equal(db.failure, null);
        assert.equal(wals(folder).length, 1, 'only the first record');
        const blobsAfter = readdirSync(join(folder, 'stores', STORE, 'blobs')).flatMap((s) => readdirSync(join(folder, 'stores', STORE, 'blobs', s)));
        assert.deepEqual(blobsAfter.sort(), blobsBefore.sort(), 'no blob written');
        assert.deepEqual(await contents(db), new Map([[1, 'a']]));
        await putAll(db, [[2, 'b']]);
        assert.deepEqual(await contents(db), new Map([[1, 'a'], [2, 'b']]));
      } finally {
        await db.close();
      }
    });
  });
});
