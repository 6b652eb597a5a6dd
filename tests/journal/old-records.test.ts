/**
 * A folder whose journal holds records of an earlier sop-ts (byte patches of leaves: e1dcd29 and
 * before) still opens: replay applies them (spec JNL-1, JNL-4). The fixture is such a folder
 * copied while its database was open (a crash): 300 items in one commit, then 10 one-item
 * commits, each of whose records holds its leaf as a byte patch of the blob it replaced. Made by
 * running the earlier code; its lock file left out (a dead process's pid could be a live one here).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Database } from '../../src/index.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'byte-patch-journal.tgz');

describe('journal: records of an earlier version (byte patches of leaves) replay (JNL-1, JNL-4)', () => {
  const made: string[] = [];
  after(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('opens the crashed folder, replays its 11 records, and reads every item as committed', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'sop-old-journal-'));
    made.push(folder);
    execFileSync('tar', ['-xzf', FIXTURE, '-C', folder]);
    const db = await Database.open({ folder });
    try {
      assert.equal(db.journalReplay.replayed, 11);
      const expected = new Map<number, string>(Array.from({ length: 300 }, (_, i) => [i, `value-${i}-${'x'.repeat(80)}`]));
      for (let i = 0; i < 10; i++) expected.set(i * 29, `changed-${i}`);
      const found = new Map<number, string>();
      await db.transaction('read', async (tx) => {
        const kv = await db.openBtree<number, string>(tx, 'kv');
        for await (const [k, v] of kv.range()) found.set(k, v);
      });
      assert.deepEqual(found, expected);
      assert.equal((await db.checkStore('kv')).orphanBlobs, 0);
    } finally {
      await db.close();
    }
  });
});
