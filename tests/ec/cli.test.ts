import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { escapeRegExp, filesUnder, makeDatabase, sop } from './cli-helpers.js';
import { TempDirs, flipByte } from './helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

describe('cli: sop verify and sop inspect (FMT-1, STRUCT-1, STRUCT-2)', () => {
  let folder: string;
  before(async () => {
    folder = path.join(dirs.make(), 'db');
    await makeDatabase(folder);
  });

  it('verify: a healthy folder exits 0', () => {
    const run = sop('verify', folder);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /store users: 40 items, depth \d+, \d+ nodes, \d+ blobs: ok/);
    assert.match(run.stdout, /^healthy: 2 stores/m);
  });

  it('inspect: lists stores with counts and tree shape, as a table or JSON', () => {
    const table = sop('inspect', folder);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^users\s+40\s+\d+\s+\d+\s+\d+\s+0\s+ok$/m);
    const json = JSON.parse(sop('inspect', folder, '--json').stdout) as { stores: { name: string; count: number; health: string }[] };
    assert.deepEqual(json.stores.map((s) => [s.name, s.count, s.health]), [['users', 40, 'ok'], ['vals', 10, 'ok']]);
  });

  it('verify: one flipped byte in a blob file exits non-zero and names the store and the blob', () => {
    const copy = path.join(dirs.make(), 'db');
    fs.cpSync(folder, copy, { recursive: true });
    for (const store of ['users', 'vals']) {
      const files = filesUnder(path.join(copy, 'stores', store, 'blobs'));
      const victim = files[Math.floor(files.length / 2)]!;
      flipByte(victim, -1); // the last payload byte: the header (length, CRC) stays readable
      const run = sop('verify', copy);
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, new RegExp(`CORRUPT store ${store} blob ${path.basename(victim)} file ${escapeRegExp(victim)}: checksum mismatch`));
      assert.match(run.stdout, /^NOT healthy/m);
      const json = JSON.parse(sop('verify', copy, '--json').stdout) as { healthy: boolean; problems: { store?: string; blob?: string }[] };
      assert.equal(json.healthy, false);
      assert.ok(json.problems.some((p) => p.store === store && p.blob === path.basename(victim)), JSON.stringify(json.problems));
      flipByte(victim, -1); // restore for the next store
      assert.equal(sop('verify', copy).code, 0);
    }
  });

  it('a folder that is not a database, or a bad command line, exits 2 and creates nothing', () => {
    const missing = path.join(dirs.make(), 'nothing-here');
    const run = sop('verify', missing);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /not a sop-ts database/);
    assert.equal(fs.existsSync(missing), false);
    assert.equal(sop('inspect').code, 2);
    assert.equal(sop('verify', folder, '--drives', '/a,/b,/c').code, 2);
  });
});
