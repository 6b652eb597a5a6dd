/**
 * Database.open({ folder, fallback }) (spec EXP-2): a missing, empty or unreadable folder is
 * rebuilt from the export file and `db.restoredFrom` says so; an unreadable folder is kept aside
 * (renamed), never deleted; without fallback it is CORRUPT; a readable folder opens as it is; a
 * bad fallback changes nothing.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { Database, SopError } from '../../../src/index.js';
import { TempDirs, expectSopError, flipByte, listFiles } from '../../api/helpers.js';
import { dump, fillEveryKind } from './helpers.js';

describe('layers/export: open with fallback', function () {
  this.timeout(120_000);
  const dirs = new TempDirs();
  after(() => dirs.cleanup());

  /** A folder with every kind of store, its export, and its exact dump. */
  async function setup(): Promise<{ root: string; folder: string; file: string; expected: Record<string, unknown> }> {
    const root = dirs.make('sop-fallback-');
    const folder = path.join(root, 'db');
    const file = path.join(root, 'backup.jsonl');
    const db = await Database.open({ folder });
    await fillEveryKind(db);
    const expected = await dump(db);
    await db.export(file);
    await db.close();
    return { root, folder, file, expected };
  }

  it('a readable folder opens as it is; the file is not needed (restoredFrom null)', async () => {
    const { folder, root } = await setup();
    const db = await Database.open({ folder, fallback: path.join(root, 'no-such-file.jsonl') });
    try {
      assert.equal(db.restoredFrom, null);
    } finally {
      await db.close();
    }
  });

  it('a missing or empty folder is rebuilt from the file (EXP-2)', async () => {
    const { folder, file, expected } = await setup();
    for (const prepare of [() => fs.rmSync(folder, { recursive: true }), () => (fs.rmSync(folder, { recursive: true }), fs.mkdirSync(folder))]) {
      prepare();
      const db = await Database.open({ folder, fallback: file });
      try {
        assert.equal(db.restoredFrom?.reason, 'missing');
        assert.equal(db.restoredFrom?.file, file);
        assert.deepEqual(await dump(db), expected);
      } finally {
        await db.close();
      }
    }
  });

  for (const [what, damage] of [
    ['store info', (folder: string) => flipByte(path.join(folder, 'stores', 'natural', 'storeinfo'), 20)],
    ['database info', (folder: string) => flipByte(path.join(folder, 'sop.db'), 12)],
  ] as const) {
    it(`a folder with a damaged ${what}: CORRUPT without fallback; rebuilt with it, the damaged folder kept aside (EXP-2)`, async () => {
      const { root, folder, file, expected } = await setup();
      damage(folder);
      const damagedFiles = listFiles(folder).map((f) => [f, fs.readFileSync(path.join(folder, f)).toString('hex')]);
      const error = await expectSopError(Database.open({ folder }), 'CORRUPT');
      const db = await Database.open({ folder, fallback: file });
      try {
        assert.deepEqual(db.restoredFrom, { file, reason: 'unreadable', damagedFolder: `${folder}.damaged-1`, error: error.message, stores: 17, items: db.restoredFrom?.items });
        assert.deepEqual(await dump(db), expected);
      } finally {
        await db.close();
      }
      // The damaged folder is kept byte for byte (lock files aside), under a new name.
      const kept = listFiles(`${folder}.damaged-1`).map((f) => [f, fs.readFileSync(path.join(`${folder}.damaged-1`, f)).toString('hex')]);
      assert.deepEqual(kept.filter(([f]) => !f!.endsWith('.lock')), damagedFiles.filter(([f]) => !f!.endsWith('.lock')));
      // Damaged again: kept under the next free name.
      damage(folder);
      const db2 = await Database.open({ folder, fallback: file });
      await db2.close();
      assert.equal(db2.restoredFrom?.damagedFolder, `${folder}.damaged-2`);
      assert.deepEqual(fs.readdirSync(root).sort(), ['backup.jsonl', 'db', 'db.damaged-1', 'db.damaged-2']);
    });
  }

  it('a fallback file that is missing or malformed changes nothing: the damaged folder stays where it is', async () => {
    const { root, folder, file } = await setup();
    flipByte(path.join(folder, 'stores', 'natural', 'storeinfo'), 20);
    const before = listFiles(folder);
    await expectSopError(Database.open({ folder, fallback: path.join(root, 'missing.jsonl') }), 'INVALID_ARGUMENT');
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.slice(0, text.length / 2));
    await expectSopError(Database.open({ folder, fallback: file }), 'CORRUPT');
    assert.deepEqual(listFiles(folder).filter((f) => !f.endsWith('.lock')), before.filter((f) => !f.endsWith('.lock')));
    assert.deepEqual(fs.readdirSync(root).sort(), ['backup.jsonl', 'db']);
  });

  it('an import left behind by a crash is cleared; journal mode opens the rebuilt folder', async () => {
    const { root, folder, file, expected } = await setup();
    fs.rmSync(folder, { recursive: true });
    fs.mkdirSync(`${folder}.importing-0000`);
    fs.writeFileSync(`${folder}.importing-0000/junk`, 'x');
    const db = await Database.open({ folder, fallback: file, journal: true });
    try {
      assert.deepEqual(await dump(db), expected);
    } finally {
      await db.close();
    }
    assert.deepEqual(fs.readdirSync(root).sort(), ['backup.jsonl', 'db']);
  });

  it('bad fallback options are INVALID_ARGUMENT before anything is touched', async () => {
    const { folder, file } = await setup();
    fs.rmSync(folder, { recursive: true });
    for (const options of [
      { folder, fallback: '' },
      { folder, fallback: 7 },
      { folder, fallback: file, mode: 'clustered' },
      { folder, fallback: file, erasureCoding: { dataShards: 1, parityShards: 1, drives: ['/a', '/b'] } },
      { folder, fallback: file, replication: { passive: `${folder}-b` } },
      { folder: '', fallback: file },
    ]) {
      await expectSopError(Database.open(options as never), 'INVALID_ARGUMENT');
    }
    assert.equal(fs.existsSync(folder), false);
  });

  it('a failure other than CORRUPT (here: the folder is a file) is thrown, and the folder is left alone', async () => {
    const { folder, file } = await setup();
    fs.writeFileSync(`${folder}-file`, 'a file, not a folder');
    await assert.rejects(Database.open({ folder: `${folder}-file`, fallback: file }), (e: unknown) => SopError.is(e) && e.code !== 'CORRUPT');
    assert.equal(fs.readFileSync(`${folder}-file`, 'utf8'), 'a file, not a folder');
  });
});
