/**
 * db.export and the round trip (spec EXP-1, EXP-2): every store of every kind comes back
 * exactly (kind, layer options, B-tree options, keys and values as codec bytes); the export is
 * one consistent snapshot even while writers commit; it never leaves a half-written file.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { Database, SopError, realEnv } from '../../../src/index.js';
import { TempDirs, expectSopError } from '../../api/helpers.js';
import { pattern, valueOf } from '../stream/helpers.js';
import { dump, fillEveryKind } from './helpers.js';

describe('layers/export: db.export and the round trip', function () {
  this.timeout(120_000);
  const dirs = new TempDirs();
  after(() => dirs.cleanup());

  it('export -> delete -> open with fallback restores every store exactly (EXP-1, EXP-2)', async () => {
    const root = dirs.make('sop-export-');
    const folder = path.join(root, 'db');
    const file = path.join(root, 'backup.jsonl');
    let db = await Database.open({ folder });
    await fillEveryKind(db);
    const before = await dump(db);
    const report = await db.export(file);
    assert.deepEqual({ stores: report.stores, file: report.file, bytes: report.bytes }, { stores: 17, file, bytes: fs.statSync(file).size });
    await db.close();
    fs.rmSync(folder, { recursive: true });

    db = await Database.open({ folder, fallback: file });
    try {
      assert.deepEqual(db.restoredFrom, { file, reason: 'missing', stores: 17, items: report.items });
      assert.deepEqual(await dump(db), before);
      assert.deepEqual((await db.listStores()).map((s) => `${s.name}:${s.kind}`), ['blobs:btree', 'docs:vector', 'dups:btree', 'empty:btree', 'fields:btree', 'media:stream', 'models:models', 'natural:btree', 'wiki:search']);
      for (const s of await db.listStores({ parts: true })) assert.equal((await db.checkStore(s.name)).orphanBlobs, 0, s.name);
      // A second export of the restored folder is the same file, but for the order of duplicate keys (they follow item ids).
      const again = path.join(root, 'again.jsonl');
      await db.export(again);
      const sorted = (f: string): string[] => fs.readFileSync(f, 'utf8').split('\n').filter((l) => !l.startsWith('{"end"')).sort();
      assert.deepEqual(sorted(again), sorted(file));
      // The layers work on what came back.
      await db.transaction('write', async (tx) => {
        const media = await db.openStreamStore(tx, 'media');
        assert.deepEqual(await valueOf(media, 'movie.mp4'), pattern(4500, 1));
        assert.equal(media.chunkSize, 1000);
        await media.write('movie.mp4', 4500, pattern(10, 3));
        const models = await db.openModelRegistry(tx, 'models');
        assert.equal(await models.latest('clf'), '1.1.0');
        await models.put('clf', '1.2.0', { v: '1.2.0' });
        const hits = await (await db.openVectorStore(tx, 'docs')).query([4, 1, -2], { k: 1 });
        assert.deepEqual(hits.map((h) => h.id), ['d4']);
        const top = await (await db.openSearchIndex(tx, 'wiki')).search('semver', { k: 3 });
        assert.deepEqual(top.map((h) => h.id), ['p2']);
      });
    } finally {
      await db.close();
    }
  });

  it('an export file is the same bytes after a round trip when no store has duplicate keys (EXP-2)', async () => {
    const root = dirs.make('sop-export-');
    const db = await Database.open({ folder: path.join(root, 'a') });
    await db.transaction('write', async (tx) => {
      const t = await db.newBtree(tx, 't', { keyOrder: [{ field: 0 }], slotLength: 3 });
      for (let i = 0; i < 30; i++) await t.add([i % 7, `x${i}`], { i, d: new Date(i) });
      await (await db.newModelRegistry(tx, 'm')).put('x', '0.1.0', Uint8Array.of(1));
    });
    await db.export(path.join(root, 'one.jsonl'));
    await db.close();
    const db2 = await Database.open({ folder: path.join(root, 'b'), fallback: path.join(root, 'one.jsonl') });
    await db2.export(path.join(root, 'two.jsonl'));
    await db2.close();
    assert.equal(fs.readFileSync(path.join(root, 'two.jsonl'), 'utf8'), fs.readFileSync(path.join(root, 'one.jsonl'), 'utf8'));
  });

  it('is one consistent snapshot: a commit in the middle of its scan makes it start over (EXP-1)', async () => {
    const root = dirs.make('sop-export-');
    const N = 30;
    // Two stores whose sums add up to 100 * N in every committed state; a transfer moves a unit from a to b.
    const transfer = async (n: number): Promise<void> =>
      db.transaction('write', async (tx) => {
        const a = await db.openBtree<number, number>(tx, 'a');
        const b = await db.openBtree<number, number>(tx, 'b');
        assert.ok(await a.find(n % N));
        await a.updateCurrentValue((await a.getCurrentValue())! - 1);
        assert.ok(await b.find(N - 1 - (n % N)));
        await b.updateCurrentValue((await b.getCurrentValue())! + 1);
      });
    // The file system port runs a transfer when an export attempt, half-way through store b, reads a
    // value blob: the first two attempts of each export see a commit land in the middle of their scan.
    let attempts = 0;
    let blobReads = 0;
    let transfers = 0;
    let busy = false;
    const env = realEnv();
    const base = env.fs;
    const fsPort = Object.assign(Object.create(base) as typeof base, {
      open: (p: string, mode: Parameters<typeof base.open>[1]) => {
        if (p.includes('.jsonl.tmp-')) {
          attempts++;
          blobReads = 0;
        }
        return base.open(p, mode);
      },
      readFile: async (p: string) => {
        if (!busy && p.includes('/stores/b/blobs/') && ++blobReads === N / 2 && attempts % 3 !== 0) {
          busy = true;
          await transfer(transfers++).finally(() => (busy = false));
        }
        return base.readFile(p);
      },
    });
    // In place (`journal: false`): the hook needs the scan to read value blobs from their files; in
    // journal mode blobs committed since the last checkpoint are read from memory.
    const db = await Database.open({ folder: path.join(root, 'db'), env: { ...env, fs: fsPort }, journal: false });
    try {
      await db.transaction('write', async (tx) => {
        const a = await db.newBtree<number, number>(tx, 'a', { slotLength: 4 });
        const b = await db.newBtree<number, number>(tx, 'b', { slotLength: 4, valueInNode: false });
        for (let i = 0; i < N; i++) {
          await a.add(i, 100);
          await b.add(i, 0);
        }
      });
      for (let e = 0; e < 2; e++) {
        const file = path.join(root, `e${e}.jsonl`);
        await db.export(file);
        let sum = 0;
        for (const line of fs.readFileSync(file, 'utf8').trim().split('\n')) {
          const row = JSON.parse(line) as unknown;
          if (Array.isArray(row)) sum += row[1] as number;
        }
        assert.equal(sum, 100 * N, `${file} is not a consistent snapshot`);
      }
      assert.equal(transfers, 4); // two commits during each export's scan,
      assert.equal(attempts, 6); // each one making it start over
    } finally {
      await db.close();
    }
  });

  it('a store with a user comparer cannot be exported (INVALID_ARGUMENT), a missing folder is IO; no file is left behind (EXP-1)', async () => {
    const root = dirs.make('sop-export-');
    const db = await Database.open({ folder: path.join(root, 'db') });
    try {
      await db.transaction('write', async (tx) => void (await db.newBtree<number, number>(tx, 'custom', { comparer: (x, y) => y - x })));
      await expectSopError(db.export(path.join(root, 'x.jsonl')), 'INVALID_ARGUMENT');
      await expectSopError(db.export(''), 'INVALID_ARGUMENT');
      assert.deepEqual(fs.readdirSync(root), ['db']);
      assert.equal(await db.removeBtree('custom'), true);
      await expectSopError(db.export(path.join(root, 'no-such-dir', 'x.jsonl')), 'IO');
      assert.deepEqual(fs.readdirSync(root), ['db']);
    } finally {
      await db.close();
    }
  });

  it('a failed export leaves an existing file as it was (EXP-1)', async () => {
    const root = dirs.make('sop-export-');
    const file = path.join(root, 'x.jsonl');
    fs.writeFileSync(file, 'previous backup\n');
    const db = await Database.open({ folder: path.join(root, 'db') });
    try {
      await db.transaction('write', async (tx) => void (await db.newBtree<number, number>(tx, 'custom', { comparer: (x, y) => x - y })));
      await assert.rejects(db.export(file), (e: unknown) => SopError.is(e));
      assert.equal(fs.readFileSync(file, 'utf8'), 'previous backup\n');
      assert.deepEqual(fs.readdirSync(root).sort(), ['db', 'x.jsonl']);
    } finally {
      await db.close();
    }
  });
});
