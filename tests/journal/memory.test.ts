/**
 * Memory does not follow the number of commits (both protocols): a store of 20,000 items updated
 * by 40 transactions of 500 random keys holds about the same live ArrayBuffers after the last
 * transaction as after the fourth. Before 6a89f8a every leaf patch held its base block, so every
 * version of every leaf ever encoded stayed alive: here +143 MB over those 36 transactions
 * (187 MB live at the end), 8.4 GB RSS after 400,000 inserts. Measured since: growth 6-9 MB (the
 * store grows: most upserts add keys), 14 MB live at the end, the same in every run once the
 * probe measures after a sweep and a second collection. Each probe runs in a child of its own
 * (memory-child.ts, --expose-gc).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TempDirs } from '../api/helpers.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MIB = 1 << 20;

function probe(dirs: TempDirs, journal: boolean): { early: number; late: number; growth: number } {
  const folder = path.join(dirs.make('sop-commit-mem-'), 'db');
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(HERE, 'memory-child.ts')], {
    env: { ...process.env, SOP_FOLDER: folder, SOP_JOURNAL: journal ? '1' : '0' },
    cwd: path.join(HERE, '..', '..'),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { early: number; late: number; growth: number };
}

describe('memory across many commits (journal mode and in place)', function () {
  this.timeout(300_000);
  const dirs = new TempDirs();
  after(() => dirs.cleanup());

  for (const journal of [true, false]) {
    it(`${journal ? 'journal mode' : 'in place'}: 36 more update transactions leave live ArrayBuffers about where they were`, () => {
      const { growth, late } = probe(dirs, journal);
      const figures = `growth ${(growth / MIB).toFixed(1)} MiB, ${(late / MIB).toFixed(1)} MiB live at the end`;
      assert.ok(growth < 32 * MIB, figures);
      assert.ok(late < 64 * MIB, figures);
    });
  }
});
