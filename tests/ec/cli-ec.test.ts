/**
 * `sop verify` / `sop inspect` / `sop repair` on an erasure-coded database (EC-1, EC-3).
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { escapeRegExp, filesUnder, makeDatabase, sop } from './cli-helpers.js';
import { TempDirs, flipByte, makeDrives } from './helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

describe('cli: sop verify / inspect / repair with erasure coding (EC-1, EC-3)', () => {
  let folder: string;
  let drives: string[];
  let ec: string[];
  before(async () => {
    folder = path.join(dirs.make(), 'db');
    drives = makeDrives(dirs, 3);
    ec = ['--drives', drives.join(','), '--data', '2', '--parity', '1'];
    await makeDatabase(folder, { erasureCoding: { dataShards: 2, parityShards: 1, drives } });
  });

  it('verify: healthy with every shard valid; inspect shows each drive and its shards', () => {
    const run = sop('verify', folder, ...ec);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^healthy: 2 stores/m);
    const json = JSON.parse(sop('inspect', folder, ...ec, '--json').stdout) as { stores: { name: string; count: number; drives: { state: string; shards: number }[] }[] };
    const users = json.stores.find((s) => s.name === 'users')!;
    assert.equal(users.count, 40);
    assert.deepEqual(users.drives.map((d) => d.state), ['ok', 'ok', 'ok']);
    assert.ok(users.drives.every((d) => d.shards === users.drives[0]!.shards && d.shards > 0));
  });

  it('verify: a flipped byte in one shard is named (the data stays readable), and a lost drive fails it', () => {
    const copy = path.join(dirs.make(), 'db');
    fs.cpSync(folder, copy, { recursive: true });
    const copyDrives = drives.map((d) => {
      const to = path.join(path.dirname(copy), path.basename(d));
      fs.cpSync(d, to, { recursive: true });
      return to;
    });
    const args = ['--drives', copyDrives.join(','), '--data', '2', '--parity', '1'];
    const shard = filesUnder(path.join(copyDrives[1]!, 'users'))[3]!;
    flipByte(shard, -5);
    const run = sop('verify', copy, ...args);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, new RegExp(`CORRUPT store users blob ${path.basename(shard).replace(/\.1$/, '')} file ${escapeRegExp(shard)}: .*checksum mismatch`));
    assert.match(run.stdout, /store users: 40 items/, 'the structure check decodes around the bad shard');

    fs.rmSync(copyDrives[2]!, { recursive: true, force: true });
    const degraded = sop('verify', copy, ...args, '--json');
    assert.equal(degraded.code, 1);
    const report = JSON.parse(degraded.stdout) as { problems: { file?: string; problem: string }[] };
    assert.ok(report.problems.some((p) => p.file?.startsWith(copyDrives[2]!) && /missing/.test(p.problem)));
    const table = sop('inspect', copy, ...args);
    assert.match(table.stdout, new RegExp(`\\[2\\] ${escapeRegExp(copyDrives[2]!)} missing`));
  });

  it('verify without the drives of an erasure-coded folder reports missing blobs', () => {
    const run = sop('verify', folder);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /NOT healthy/);
  });

  it('repair: a replaced (empty) drive gets every shard back; verify is healthy again (EC-3)', () => {
    const copy = path.join(dirs.make(), 'db');
    fs.cpSync(folder, copy, { recursive: true });
    const copyDrives = drives.map((d) => {
      const to = path.join(path.dirname(copy), `r-${path.basename(d)}`);
      fs.cpSync(d, to, { recursive: true });
      return to;
    });
    const args = ['--drives', copyDrives.join(','), '--data', '2', '--parity', '1'];
    const before = filesUnder(copyDrives[0]!).length;
    fs.rmSync(copyDrives[0]!, { recursive: true, force: true });
    fs.mkdirSync(copyDrives[0]!); // the replacement drive, empty
    assert.equal(sop('verify', copy, ...args).code, 1, 'degraded before the repair');
    const run = sop('repair', copy, ...args, '--json');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const report = JSON.parse(run.stdout) as { shardsRewritten: number; unrecoverable: number; healthy: boolean };
    assert.ok(report.healthy && report.unrecoverable === 0);
    assert.ok(report.shardsRewritten >= before, `rebuilt ${report.shardsRewritten} of the ${before} lost shards`);
    assert.equal(filesUnder(copyDrives[0]!).length, before);
    const verified = sop('verify', copy, ...args);
    assert.equal(verified.code, 0, verified.stdout);
  });
});
