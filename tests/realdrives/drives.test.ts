/**
 * The real-drive helper itself: each fault it makes is the kernel's (EIO, EROFS, ENOSPC), a
 * replaced drive is empty at the same path, and nothing stays mounted after cleanup.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { LoopDrives } from './drives.js';
import { skipUnlessRealDrives } from './workload.js';

async function code(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return 'ok';
  } catch (error) {
    return String((error as NodeJS.ErrnoException).code);
  }
}

describe('real drives: the loop-mounted ext4 helper', function () {
  this.timeout(60_000);
  let drives: LoopDrives | undefined;

  before(function () {
    skipUnlessRealDrives(this);
  });
  after(() => LoopDrives.cleanupAll()); // whatever a failed hook left mounted
  afterEach(async () => {
    await drives?.cleanup();
    if (drives) assert.deepEqual(drives.mountsUnder(), [], 'nothing left mounted');
    drives = undefined;
  });

  it('shutdown: EIO on reads and writes; readOnly: EROFS on changes, reads still work; fill: ENOSPC until unfilled', async () => {
    drives = await LoopDrives.create(3, 16);
    for (const i of [0, 1, 2]) await fs.promises.writeFile(drives.at(i, 'f'), 'before');
    await drives.shutdown(0);
    assert.equal(await code(() => fs.promises.readFile(drives!.at(0, 'f'))), 'EIO');
    assert.equal(await code(() => fs.promises.writeFile(drives!.at(0, 'g'), 'x')), 'EIO');
    await drives.readOnly(1);
    assert.equal(await code(() => fs.promises.writeFile(drives!.at(1, 'g'), 'x')), 'EROFS');
    assert.equal(await fs.promises.readFile(drives.at(1, 'f'), 'utf8'), 'before');
    const taken = await drives.fill(2);
    assert.ok(taken > 8 * 1024 * 1024, `filled ${taken} bytes`);
    assert.equal(await code(() => fs.promises.writeFile(drives!.at(2, 'g'), Buffer.alloc(64 * 1024))), 'ENOSPC');
    await drives.unfill(2);
    await fs.promises.writeFile(drives.at(2, 'g'), Buffer.alloc(64 * 1024));
  });

  it('replace: a fresh empty file system at the same path, even with a file still open on the old one', async () => {
    drives = await LoopDrives.create(1, 16);
    await fs.promises.writeFile(drives.at(0, 'old'), 'old');
    const held = await fs.promises.open(drives.at(0, 'old'), 'r');
    await drives.shutdown(0);
    await drives.replace(0);
    assert.deepEqual(fs.readdirSync(drives.drives[0]!.mount), ['lost+found']);
    await fs.promises.writeFile(drives.at(0, 'new'), 'new');
    assert.equal(fs.readFileSync(path.join(drives.drives[0]!.mount, 'new'), 'utf8'), 'new');
    await held.close().catch(() => undefined); // the old drive is dead: its close may report EIO
  });
});
