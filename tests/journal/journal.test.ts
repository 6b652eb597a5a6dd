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
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { FaultyFileSystem, ioError } from '../../fault-injection/faulty-fs.js';
import { Database, SopError, realEnv } from '../../src/index.js';
import { decodeRecord, encodeRecord, type JournalRecord } from '../../src/journal/record.js';
import { applyPatch, diffOps, patchLiterals } from '../../src/codec/patch.js';
import fc from 'fast-check';
import { countingFs, newCounters } from '../../benchmarks/lib/sop-adapter.js';

const STORE = 'kv';
const folders: string[] = [];

function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'sop-journal-'));
  folders.push(folder);
  return folder;
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

/** An Env whose appends to journal.wal are kept in `written` (the records, as appended). */
function recordingJournal(): { env: ReturnType<typeof realEnv>; written: Uint8Array[] } {
  const written: Uint8Array[] = [];
  const env = realEnv();
  const fs = new FaultyFileSystem(env.fs, () => null);
  const open = fs.open.bind(fs);
  fs.open = async (path, mode) => {
    const handle = await open(path, mode);
    if (!path.endsWith('journal.wal')) return handle;
    const write = handle.write.bind(handle);
    handle.write = (position, data) => (data.some((b) => b !== 0) && written.push(data.slice()), write(position, data));
    return handle;
  };
  return { env: { ...env, fs }, written };
}

/** A power loss now: a copy of the folder as it is, opened (replay), holds `expected` and no orphan. */
async function expectReplay(folder: string, expected: Map<number, string>, replayed: number): Promise<void> {
  const copy = tempFolder();
  cpSync(folder, copy, { recursive: true });
  const reopened = await Database.open({ folder: copy });
  try {
    assert.equal(reopened.journalReplay.replayed, replayed);
    assert.deepEqual(reopened.journalReplay.damaged, []);
    assert.deepEqual(await contents(reopened), expected);
    assert.equal((await reopened.checkStore(STORE)).orphanBlobs, 0);
  } finally {
    await reopened.close();
  }
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
    it('is refused with clustered mode and with bad thresholds (INVALID_ARGUMENT)', async () => {
      const folder = tempFolder();
      for (const options of [
        { folder, journal: true, mode: 'clustered' as const, redis: 'redis://127.0.0.1:1' },
        { folder, journal: { maxRecords: 0 } },
        { folder, journal: { maxBytes: 1.5 } },
        { folder, journal: { maxHeldBytes: -1 } },
        { folder, journal: { blockingSync: 'yes' as unknown as boolean } },
        { folder, journal: 'yes' as unknown as boolean },
      ]) {
        await assert.rejects(Database.open(options), (e: unknown) => SopError.is(e, 'INVALID_ARGUMENT'), JSON.stringify(options.journal));
      }
    });
  });

  describe('commits and checkpoints', () => {
    it('a single-item commit costs 1 sync: the append to the zero-filled journal (JNL-1, JNL-2)', async () => {
      const folder = tempFolder();
      const counters = newCounters();
      const env = realEnv();
      const db = await Database.open({ folder, journal: true, env: { ...env, fs: countingFs(env.fs, counters) } });
      try {
        await putAll(db, [[1, 'a']], true);
        for (let i = 0; i < 20; i++) {
          const before = { ...counters };
          await putAll(db, [[i, `v${i}`]]);
          assert.equal(counters.fsyncs - before.fsyncs, 1, `commit ${i}: syncs`);
          assert.equal(counters.datasyncs - before.datasyncs, 1, `commit ${i}: one fdatasync`);
          assert.equal(counters.writes - before.writes, 1, `commit ${i}: one write, the record`);
          assert.equal(counters.opens - before.opens, 0, `commit ${i}: no file opened`);
        }
      } finally {
        await db.close();
      }
    });

    it('keeps new blobs in memory until the checkpoint, which writes them (JNL-2, JNL-3)', async () => {
      const folder = tempFolder();
      const db = await Database.open({ folder, journal: { maxRecords: 3 } });
      try {
        await putAll(db, [[0, 'x']], true);
        const onDisk = (): number => blobFiles(folder).length;
        const atStart = onDisk();
        await putAll(db, [[1, 'y']]);
        assert.equal(onDisk(), atStart, 'the second commit wrote no blob file');
        await putAll(db, [[2, 'z']]);
        // The third record triggered a checkpoint; the commit did not wait for it (JNL-3).
        for (let i = 0; i < 250 && !existsSync(join(folder, 'translogs', 'journal.checkpoint')); i++) await new Promise((r) => setTimeout(r, 20));
        assert.ok(existsSync(join(folder, 'translogs', 'journal.checkpoint')), 'the third record triggered a checkpoint');
        const mark = readFileSync(join(folder, 'translogs', 'journal.checkpoint'));
        assert.ok(mark.length > 16);
        assert.deepEqual([...(await contents(db)).keys()], [0, 1, 2]);
        assert.equal((await db.checkStore(STORE)).orphanBlobs, 0, 'the files are exactly the live blobs');
      } finally {
        await db.close();
      }
    });
  });

  describe('patches (JNL-1)', () => {
    it('logs a one-item change of a big leaf as item changes and its sector as a patch, and replay rebuilds them (JNL-1)', async () => {
      const folder = tempFolder();
      const { env, written } = recordingJournal();
      const db = await Database.open({ folder, journal: true, env });
      const expected = new Map<number, string>();
      try {
        const items: Array<[number, string]> = Array.from({ length: 300 }, (_, i) => [i, `value-${i}-${'x'.repeat(80)}`]);
        await db.transaction('write', async (tx) => {
          const tree = await db.newBtree<number, string>(tx, STORE, { slotLength: 500 });
          for (const [k, v] of items) await tree.upsert(k, v);
        });
        for (const [k, v] of items) expected.set(k, v);
        const whole = written.at(-1)!.length;
        assert.ok(whole > 30_000, `the first record holds the whole leaf (${whole} bytes)`);
        for (let i = 0; i < 10; i++) {
          await putAll(db, [[i * 29, `changed-${i}`]]);
          expected.set(i * 29, `changed-${i}`);
        }
        const patched = written.slice(-9).map((w) => w.length); // the first change may still log the whole leaf
        for (const size of patched) assert.ok(size < 2048, `a one-item record is ${size} bytes: a leaf patch and a sector patch`);
        // The leaf goes as item changes (one new item), not as bytes: it is encoded at the checkpoint.
        for (const bytes of written.slice(-9)) {
          const leaves = decodeRecord(bytes, 'record')!.blobs.filter((b) => b.items);
          assert.equal(leaves.length, 1, 'one leaf logged as item changes');
          assert.equal(leaves[0]!.items!.ops.filter((_, i) => i % 2 === 0 && leaves[0]!.items!.ops[i] === -1).length, 1, 'one run of new items');
        }
        const copy = tempFolder();
        cpSync(folder, copy, { recursive: true });
        const reopened = await Database.open({ folder: copy });
        try {
          assert.equal(reopened.journalReplay.replayed, 11);
          assert.deepEqual(await contents(reopened), expected);
          assert.equal((await reopened.checkStore(STORE)).orphanBlobs, 0);
        } finally {
          await reopened.close();
        }
      } finally {
        await db.close();
      }
    });

    it('logs the first change of a leaf after a checkpoint whole (its file on disk is no base: seeds 1862600028, 1862600512), the next ones as item changes (JNL-1)', async () => {
      const folder = tempFolder();
      const items: Array<[number, string]> = Array.from({ length: 300 }, (_, i) => [i, `value-${i}-${'x'.repeat(80)}`]);
      const expected = new Map(items);
      const first = await Database.open({ folder, journal: true });
      await first.transaction('write', async (tx) => {
        const tree = await first.newBtree<number, string>(tx, STORE, { slotLength: 500 });
        for (const [k, v] of items) await tree.upsert(k, v);
      });
      await first.close(); // the checkpoint at close writes the leaf to its file
      const { env, written } = recordingJournal();
      const db = await Database.open({ folder, journal: true, env });
      try {
        for (let i = 0; i < 3; i++) {
          await putAll(db, [[i * 101, `changed-${i}`]]);
          expected.set(i * 101, `changed-${i}`);
        }
        const leaves = written.map((bytes) => decodeRecord(bytes, 'record')!.blobs.filter((b) => b.bytes.length > 0));
        assert.equal(leaves[0]!.length, 1);
        assert.equal(leaves[0]![0]!.items, undefined, 'the first change after the checkpoint is the whole leaf');
        assert.ok(leaves[0]![0]!.bytes.length > 20_000, `${leaves[0]![0]!.bytes.length} bytes`);
        for (const later of leaves.slice(1)) assert.ok(later[0]!.items, 'the next changes are item changes of the leaf the journal holds');
        // A power loss before the next checkpoint: the copy replays the three records.
        await expectReplay(folder, expected, 3);
      } finally {
        await db.close();
      }
    });

    it('a sector patch carries the changed slots and the checksum only, wherever the slot sits (CI flake: a slot in the first half was logged whole)', () => {
      const base = new Uint8Array(4096).map((_, i) => i % 251);
      for (const at of [8, 1000, 2500, 4000]) {
        const next = base.slice();
        next.fill(7, at, at + 62);
        next.fill(9, 4092, 4096);
        const ops = diffOps(base, next, 4);
        const literals = patchLiterals(next, ops);
        assert.ok(literals.length <= 62 + 4, `slot at ${at}: ${literals.length} new bytes`);
        assert.deepEqual(applyPatch(base, ops, literals, 't'), next);
      }
      assert.deepEqual(diffOps(base, new Uint8Array(4096), 4), [], 'nothing shared: logged whole');
    });

    it('a sector whose commit changed slots far apart is logged as those slots, not the span between them (1M-item inserts: ~1.6 KB a sector)', () => {
      const base = new Uint8Array(4096).map((_, i) => i % 251);
      const next = base.slice();
      next.fill(7, 4, 4 + 62);
      next.fill(8, 4 + 40 * 62, 4 + 41 * 62);
      next.fill(9, 4092, 4096);
      const ops = diffOps(base, next, 4);
      const literals = patchLiterals(next, ops);
      assert.equal(literals.length, 62 + 62 + 4);
      assert.deepEqual(applyPatch(base, ops, literals, 't'), next);
    });

    it('any patch diffOps makes rebuilds its block exactly (property)', () => {
      const block = fc.uint8Array({ minLength: 256, maxLength: 256 });
      const edits = fc.array(fc.tuple(fc.nat(255), fc.integer({ min: 1, max: 40 }), fc.nat(255)), { maxLength: 8 });
      fc.assert(
        fc.property(block, edits, fc.nat(8), (base, changes, trailer) => {
          const next = base.slice();
          for (const [at, length, value] of changes) next.fill(value, at, Math.min(256, at + length));
          const ops = diffOps(base, next, trailer);
          if (ops.length === 0) return; // logged whole
          let covered = 0;
          for (let i = 1; i < ops.length; i += 2) covered += ops[i]!;
          assert.equal(covered, next.length);
          assert.deepEqual(applyPatch(base, ops, patchLiterals(next, ops), 't'), next);
        }),
        { numRuns: 2000 },
      );
    });

    it('a patch applied to other bytes than its base is refused (CORRUPT), never rebuilt wrong', () => {
      const base = new Uint8Array(100).map((_, i) => i);
      const literals = new Uint8Array([7, 7, 7]);
      const ops = [0, 10, -1, 3, 20, 30];
      assert.deepEqual([...applyPatch(base, ops, literals, 't').subarray(8, 16)], [8, 9, 7, 7, 7, 20, 21, 22]);
      assert.throws(() => applyPatch(base.subarray(0, 40), ops, literals, 't'), (e: unknown) => SopError.is(e, 'CORRUPT'));
      assert.throws(() => applyPatch(base, ops, new Uint8Array(5), 't'), (e: unknown) => SopError.is(e, 'CORRUPT'));
    });
  });

  describe('checkpoint off the commit path (JNL-3)', () => {
    it('commits go on while a checkpoint writes; a leaf a commit changes meanwhile replays onto what the checkpoint wrote', async () => {
      const folder = tempFolder();
      const env = realEnv();
      let hold: Promise<void> | null = null;
      let release: () => void = () => undefined;
      const fs = new FaultyFileSystem(env.fs, () => null);
      const open = fs.open.bind(fs);
      fs.open = async (path, mode) => {
        const handle = await open(path, mode);
        if (!path.endsWith('.reg')) return handle;
        const write = handle.write.bind(handle);
        handle.write = async (position, data) => {
          if (hold) await hold; // the checkpoint's sector writes wait: it has cut, and not written its blobs yet
          return write(position, data);
        };
        return handle;
      };
      const db = await Database.open({ folder, journal: { maxRecords: 2 }, env: { ...env, fs } });
      const mark = join(folder, 'translogs', 'journal.checkpoint');
      const items: Array<[number, string]> = Array.from({ length: 300 }, (_, i) => [i, `value-${i}-${'x'.repeat(40)}`]);
      const expected = new Map(items);
      try {
        await db.transaction('write', async (tx) => {
          const tree = await db.newBtree<number, string>(tx, STORE, { slotLength: 500 });
          for (const [k, v] of items) await tree.upsert(k, v);
        });
        hold = new Promise((r) => (release = r));
        await putAll(db, [[7, 'changed by the commit that makes the checkpoint due']]);
        expected.set(7, 'changed by the commit that makes the checkpoint due');
        // The checkpoint started in the background and waits on its first sector write; this
        // commit changes the same leaf (whole: its base is in the checkpoint's cut) and completes
        // without waiting for it.
        await putAll(db, [[8, 'changed while the checkpoint runs']]);
        expected.set(8, 'changed while the checkpoint runs');
        assert.equal(existsSync(mark), false, 'the checkpoint is still under way');
        release();
        hold = null;
        for (let i = 0; i < 250 && !existsSync(mark); i++) await new Promise((r) => setTimeout(r, 20));
        assert.ok(existsSync(mark), 'the checkpoint finished');
        // A power loss now: the mark covers the first two records; the third is replayed over
        // what the checkpoint wrote, and the blob it made obsolete in memory before that write is
        // a file the next checkpoint deletes, not an orphan.
        await expectReplay(folder, expected, 1);
      } finally {
        release();
        await db.close();
      }
    });
  });

  describe('memory bound (JNL-3)', () => {
    it('checkpoints once the blobs held in memory reach maxHeldBytes', async () => {
      const folder = tempFolder();
      const db = await Database.open({ folder, journal: { maxHeldBytes: 1 } });
      try {
        await putAll(db, [[0, 'x']], true);
        await putAll(db, [[1, 'y']]);
        // Every commit checkpointed: the folder holds both commits without the journal.
        const copy = tempFolder();
        cpSync(folder, copy, { recursive: true });
        rmSync(join(copy, 'translogs', 'journal.wal'));
        const reopened = await Database.open({ folder: copy });
        try {
          assert.deepEqual(await contents(reopened), new Map([[0, 'x'], [1, 'y']]));
          assert.equal((await reopened.checkStore(STORE)).orphanBlobs, 0);
        } finally {
          await reopened.close();
        }
      } finally {
        await db.close();
      }
    });
  });

  describe('replay at open (JNL-4)', () => {
    it('restores blobs and sectors that were never written or whose writes were lost', async () => {
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
        // A power loss: copy the folder as it is (no checkpoint yet: the new blobs exist only in
        // the journal), then also spoil what is on disk: blobs emptied, registry segments zeroed.
        const copy = tempFolder();
        cpSync(folder, copy, { recursive: true });
        const storeDir = join(copy, 'stores', STORE);
        for (const file of blobFiles(copy)) truncateSync(file, 0);
        for (const name of readdirSync(storeDir).filter((n) => n.endsWith('.reg'))) {
          writeFileSync(join(storeDir, name), new Uint8Array(readFileSync(join(storeDir, name)).length));
        }
        const reopened = await Database.open({ folder: copy });
        try {
          assert.equal(reopened.journalReplay.replayed, 6, 'every record replayed');
          assert.deepEqual(await contents(reopened), expected);
          const check = await reopened.checkStore(STORE);
          assert.equal(check.count, expected.size);
          assert.equal(check.orphanBlobs, 0);
        } finally {
          await reopened.close();
        }
        const again = await Database.open({ folder: copy });
        assert.equal(again.journalReplay.replayed, 0, 'the mark covers the replayed records');
        await again.close();
      } finally {
        await db.close();
      }
    });

    it('skips records at or below the checkpoint mark (seed 1396: an older record replayed over newer sectors)', async () => {
      const folder = tempFolder();
      const db = await Database.open({ folder, journal: true });
      await putAll(db, [[1, 'old']], true);
      const old = readFileSync(join(folder, 'translogs', 'journal.wal'));
      await putAll(db, [[1, 'new'], [2, 'two']]);
      await db.close(); // checkpoint: the mark covers both records, which stay in the file
      const reopened = await Database.open({ folder, journal: true });
      assert.equal(reopened.journalReplay.replayed, 0, 'stale records in the file are not replayed');
      await reopened.close();
      writeFileSync(join(folder, 'translogs', 'journal.wal'), old); // only the older record
      const last = await Database.open({ folder, journal: true });
      try {
        assert.equal(last.journalReplay.replayed, 0);
        assert.deepEqual(await contents(last), new Map([[1, 'new'], [2, 'two']]));
      } finally {
        await last.close();
      }
    });

    it('skips the parts of a store that was removed and created again (another root id)', async () => {
      const folder = tempFolder();
      const db = await Database.open({ folder, journal: true });
      await putAll(db, [[1, 'first incarnation']], true);
      const old = readFileSync(join(folder, 'translogs', 'journal.wal'));
      await db.close();
      const again = await Database.open({ folder, journal: true });
      await again.removeBtree(STORE);
      await putAll(again, [[5, 'second incarnation']], true);
      await again.close();
      // Put the old record back and drop the mark, so only the root id can stop its replay.
      writeFileSync(join(folder, 'translogs', 'journal.wal'), old);
      rmSync(join(folder, 'translogs', 'journal.checkpoint'));
      const reopened = await Database.open({ folder });
      try {
        assert.equal(reopened.journalReplay.replayed, 1);
        assert.deepEqual(await contents(reopened), new Map([[5, 'second incarnation']]));
        assert.equal((await reopened.checkStore(STORE)).orphanBlobs, 0);
      } finally {
        await reopened.close();
      }
    });

    it('refuses to open when a damaged record hides a newer one (CORRUPT, never a silent loss)', async () => {
      const folder = tempFolder();
      const db = await Database.open({ folder, journal: true });
      await putAll(db, [[1, 'a']], true);
      await putAll(db, [[2, 'b']]);
      await putAll(db, [[3, 'c']]);
      const copy = tempFolder();
      cpSync(folder, copy, { recursive: true });
      await db.close();
      const path = join(copy, 'translogs', 'journal.wal');
      const bytes = readFileSync(path);
      bytes[40]! ^= 0xff; // inside the first record
      writeFileSync(path, bytes);
      await assert.rejects(Database.open({ folder: copy, journal: true }), (e: unknown) => SopError.is(e, 'CORRUPT'));
    });
  });

  describe('operator view', () => {
    it('sop inspect reports what the journal held at open (JNL-4)', async () => {
      const folder = tempFolder();
      const db = await Database.open({ folder, journal: true });
      await putAll(db, [[1, 'a']], true);
      await putAll(db, [[2, 'b']]);
      const copy = tempFolder();
      cpSync(folder, copy, { recursive: true }); // a crash: two records not checkpointed
      await db.close();
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sop.ts', 'inspect', copy, '--json'], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const report = JSON.parse(run.stdout) as { journal: { replayed: number; seq: number }; stores: Array<{ name: string; count: number }> };
      assert.equal(report.journal.replayed, 2);
      assert.ok(report.journal.seq >= 2);
      assert.deepEqual(report.stores.map((s) => [s.name, s.count]), [[STORE, 2]]);
      const text = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sop.ts', 'inspect', copy], { encoding: 'utf8' });
      assert.match(text.stdout, /journal: 0 record\(s\) replayed at open; checkpointed through commit \d+/);
    });
  });

  describe('failures', () => {
    it('a record that cannot be made durable is discarded: the commit rolls back and a reopen does not replay it (JNL-2)', async () => {
      const folder = tempFolder();
      const fs = new FaultyFileSystem(realEnv().fs, () => null);
      const db = await Database.open({ folder, journal: true, env: { ...realEnv(), fs } });
      try {
        await putAll(db, [[1, 'a']], true);
        let fails = 0; // the record's fdatasync fails once; the discard then succeeds
        fs.plan = (call) => (call.op === 'datasync' && call.path.endsWith('journal.wal') && fails++ === 0 ? ioError('EIO', call) : null);
        await assert.rejects(putAll(db, [[1, 'b']]));
        fs.plan = () => null;
        assert.equal(db.failure, null, 'rolled back, not failed');
        assert.deepEqual(await contents(db), new Map([[1, 'a']]));
        const copy = tempFolder();
        cpSync(folder, copy, { recursive: true }); // a crash now: the page cache holds the discarded slot
        const reopened = await Database.open({ folder: copy });
        try {
          assert.deepEqual(await contents(reopened), new Map([[1, 'a']]));
        } finally {
          await reopened.close();
        }
        await putAll(db, [[2, 'b']]);
        assert.deepEqual(await contents(db), new Map([[1, 'a'], [2, 'b']]));
      } finally {
        await db.close();
      }
    });

    it('a record whose discard fails too leaves the outcome to the next open, which replays it (REC-5)', async () => {
      const folder = tempFolder();
      const fs = new FaultyFileSystem(realEnv().fs, () => null);
      const db = await Database.open({ folder, journal: true, env: { ...realEnv(), fs } });
      await putAll(db, [[1, 'a']], true);
      // The record's write reaches the file, its fdatasync fails, and so does the discard's write.
      let journalCalls = 0;
      fs.plan = (call) => (call.path.endsWith('journal.wal') && ['datasync', 'write'].includes(call.op) && ++journalCalls >= 2 ? ioError('EIO', call) : null);
      await assert.rejects(putAll(db, [[1, 'b']]), (e: unknown) => SopError.is(e, 'IO'));
      fs.plan = () => null;
      assert.ok(db.failure, 'writes refused until reopen');
      await assert.rejects(db.beginTransaction('write'), (e: unknown) => SopError.is(e, 'UNAVAILABLE'));
      await db.close();
      const reopened = await Database.open({ folder, journal: true });
      try {
        // The record reached the file (only its sync failed) and its slot could not be zeroed:
        // it is whole, so the commit counts.
        assert.equal(reopened.journalReplay.replayed, 2);
        assert.deepEqual(await contents(reopened), new Map([[1, 'b']]));
      } finally {
        await reopened.close();
      }
    });

    it('a failed checkpoint keeps the records; they are replayed at the next open (JNL-3)', async () => {
      const folder = tempFolder();
      let failFlush = false;
      const fs = new FaultyFileSystem(realEnv().fs, (call) => (failFlush && call.path.includes('/blobs/') ? ioError('EIO', call) : null));
      const db = await Database.open({ folder, journal: true, env: { ...realEnv(), fs } });
      await putAll(db, [[1, 'a']], true);
      await putAll(db, [[2, 'b']]);
      failFlush = true;
      await db.close(); // its checkpoint fails writing blobs
      failFlush = false;
      assert.equal(existsSync(join(folder, 'translogs', 'journal.checkpoint')), false, 'no mark: nothing checkpointed');
      const reopened = await Database.open({ folder, journal: true });
      try {
        assert.equal(reopened.journalReplay.replayed, 2);
        assert.deepEqual(await contents(reopened), new Map([[1, 'a'], [2, 'b']]));
        assert.equal((await reopened.checkStore(STORE)).orphanBlobs, 0);
      } finally {
        await reopened.close();
      }
    });
  });
});

function blobFiles(folder: string): string[] {
  const root = join(folder, 'stores', STORE, 'blobs');
  return readdirSync(root).flatMap((sub) => readdirSync(join(root, sub)).map((id) => join(root, sub, id)));
}
