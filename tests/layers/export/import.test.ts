/**
 * Import of export files (spec EXP-3): every malformed file is refused with CORRUPT naming the
 * file and line, and nothing is half imported (no folder, no temporary folder left); a
 * hand-written file without a checksum is accepted. Also `sop export` and `sop import`.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Database, SopError } from '../../../src/index.js';
import { TempDirs } from '../../api/helpers.js';
import { dump, fillEveryKind } from './helpers.js';

const REPO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A small valid export: header, store 'a' (3 items), store 'b' (1 item), end line. */
async function validExport(dirs: TempDirs): Promise<string[]> {
  const root = dirs.make('sop-import-');
  const db = await Database.open({ folder: path.join(root, 'db') });
  await db.transaction('write', async (tx) => {
    const a = await db.newBtree<number, string>(tx, 'a');
    for (const i of [1, 2, 3]) await a.add(i, `v${i}`);
    await (await db.newBtree<string, Uint8Array>(tx, 'b', { valueInNode: false })).add('k', Uint8Array.of(1, 2));
  });
  await db.export(path.join(root, 'x.jsonl'));
  await db.close();
  return fs.readFileSync(path.join(root, 'x.jsonl'), 'utf8').trimEnd().split('\n');
}

/** Imports `text` through the fallback open of a missing folder; returns the error, checking nothing was left. */
async function importFails(dirs: TempDirs, text: string | Buffer): Promise<SopError> {
  const root = dirs.make('sop-import-');
  const file = path.join(root, 'bad.jsonl');
  fs.writeFileSync(file, text);
  const folder = path.join(root, 'db');
  const error = await Database.open({ folder, fallback: file }).then(
    async (db) => {
      await db.close();
      assert.fail('the import was accepted');
    },
    (e: unknown) => e,
  );
  assert.ok(SopError.is(error), String(error));
  assert.deepEqual(fs.readdirSync(root), ['bad.jsonl'], 'nothing of the import is left');
  return error;
}

describe('layers/export: import of malformed files', function () {
  this.timeout(120_000);
  const dirs = new TempDirs();
  let lines: string[];
  before(async () => {
    lines = await validExport(dirs);
    assert.equal(lines.length, 8);
  });
  after(() => dirs.cleanup());

  const edit = (i: number, line: string | null): string => {
    const copy = [...lines];
    if (line === null) copy.splice(i, 1);
    else copy[i] = line;
    return `${copy.join('\n')}\n`;
  };
  const withoutCrc = (text: string): string => text.replace(/,"crc32":\d+/, '');

  // The valid file: 1 header, 2 store a, 3-5 its items, 6 store b, 7 its item, 8 end line.
  const END = 8;
  // [what, file text, line the error must name or null for the whole file]
  const cases: Array<[string, () => string | Buffer, number | null]> = [
    ['not JSON', () => edit(2, '{"not json'), 3],
    ['no header', () => edit(0, '{"store":"a"}'), 1],
    ['a format from the future', () => edit(0, '{"sop":"export","format":2,"stores":2}'), 1],
    ['truncated: no end line', () => `${lines.slice(0, -1).join('\n')}\n`, null],
    ['cut in the middle of a line', () => `${lines.join('\n').slice(0, -10)}`, END],
    ['fewer items than the store line says', () => edit(3, null), 5],
    ['more items than the store line says', () => withoutCrc(edit(4, `${lines[4]}\n[4,"v4"]`)), 6],
    ['a changed value (checksum)', () => edit(3, lines[3]!.replace('v2', 'v9')), END],
    ['an item before any store', () => edit(1, '[1,"v"]'), 2],
    ['a duplicate key in a unique store', () => withoutCrc(edit(4, '[2,"again"]')), 5],
    ['a key that is not a key (NaN)', () => withoutCrc(edit(3, '[{"$t":"number","v":"NaN"},"x"]')), 4],
    ['a malformed tagged value', () => withoutCrc(edit(6, '["k",{"$t":"bytes","v":"***"}]')), 7],
    ['an unknown store kind', () => withoutCrc(edit(1, lines[1]!.replace('"kind":"btree"', '"kind":"tables"'))), 2],
    ['bad store options', () => withoutCrc(edit(1, lines[1]!.replace('"slotLength":500', '"slotLength":1'))), 2],
    ['a bad store name', () => withoutCrc(edit(1, lines[1]!.replace('"store":"a"', '"store":"../x"'))), 2],
    ['a line after the end line', () => `${lines.join('\n')}\n[5,"x"]\n`, END + 1],
    ['wrong totals in the end line', () => edit(END - 1, '{"end":true,"stores":2,"items":5}'), END],
    ['an empty line', () => edit(2, ''), 3],
    ['invalid UTF-8', () => Buffer.concat([Buffer.from(`${lines.slice(0, 2).join('\n')}\n["\xff`, 'latin1'), Buffer.from('"]\n')]), 3],
    ['an empty file', () => '', null],
  ];
  for (const [what, text, line] of cases) {
    it(`refuses ${what} with CORRUPT${line === null ? '' : ` at line ${line}`} and imports nothing (EXP-3)`, async () => {
      const error = await importFails(dirs, text());
      assert.equal(error.code, 'CORRUPT', error.message);
      if (line !== null) assert.match(error.message, new RegExp(`bad\\.jsonl line ${line}:`), error.message);
      else assert.match(error.message, /bad\.jsonl/);
    });
  }

  it('accepts a hand-written file without a checksum', async () => {
    const root = dirs.make('sop-import-');
    const file = path.join(root, 'hand.jsonl');
    fs.writeFileSync(file, ['{"sop":"export","format":1,"stores":1}', '{"store":"cfg","kind":"btree","options":{"slotLength":16,"isUnique":true,"valueInNode":true,"description":"defaults"},"count":2}', '["port",8080]', '["tags",["a","b"]]', '{"end":true,"stores":1,"items":2}'].join('\n'));
    const db = await Database.open({ folder: path.join(root, 'db'), fallback: file });
    try {
      assert.equal(db.restoredFrom?.items, 2);
      const got = await db.transaction('read', async (tx) => {
        const t = await db.openBtree<string, unknown>(tx, 'cfg');
        return (await t.find('tags')) ? t.getCurrentValue() : undefined;
      });
      assert.deepEqual(got, ['a', 'b']);
    } finally {
      await db.close();
    }
  });
});

describe('layers/export: sop export and sop import', function () {
  this.timeout(120_000);
  const dirs = new TempDirs();
  after(() => dirs.cleanup());
  const sop = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'src', 'cli', 'sop.ts'), ...args], { cwd: REPO, encoding: 'utf8' });

  it('exports a folder and imports it into a new one, exactly (EXP-1, EXP-2)', async () => {
    const root = dirs.make('sop-cli-');
    const db = await Database.open({ folder: path.join(root, 'a') });
    await fillEveryKind(db);
    const before = await dump(db);
    await db.close();
    const file = path.join(root, 'a.jsonl');
    const out = sop('export', path.join(root, 'a'), file, '--json');
    assert.equal(out.status, 0, out.stderr);
    assert.equal((JSON.parse(out.stdout) as { stores: number }).stores, 17);
    const imported = sop('import', file, path.join(root, 'b'));
    assert.equal(imported.status, 0, imported.stderr);
    assert.match(imported.stdout, /imported 17 stores/);
    const db2 = await Database.open({ folder: path.join(root, 'b') });
    try {
      assert.deepEqual(await dump(db2), before);
    } finally {
      await db2.close();
    }
  });

  it('exit codes: 2 for bad arguments or folders, 1 for a malformed file (nothing created)', () => {
    const root = dirs.make('sop-cli-');
    fs.mkdirSync(path.join(root, 'full'));
    fs.writeFileSync(path.join(root, 'full', 'x'), 'x');
    fs.writeFileSync(path.join(root, 'bad.jsonl'), '{"sop":"export","format":1,"stores":0}\n');
    assert.equal(sop('export', path.join(root, 'nodb'), path.join(root, 'x.jsonl')).status, 2);
    assert.equal(sop('export', path.join(root, 'nodb')).status, 2);
    assert.equal(sop('import', path.join(root, 'bad.jsonl')).status, 2);
    assert.equal(sop('import', path.join(root, 'bad.jsonl'), path.join(root, 'full')).status, 2);
    const bad = sop('import', path.join(root, 'bad.jsonl'), path.join(root, 'new'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /CORRUPT: .*bad\.jsonl: the file ends without its end line/);
    assert.deepEqual(fs.readdirSync(root).sort(), ['bad.jsonl', 'full']);
  });
});
