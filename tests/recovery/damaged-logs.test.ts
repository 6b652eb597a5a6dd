/**
 * Recovery when a transaction's own logs are damaged (spec REC-1, REC-4). Found by simulator
 * seed 598579142: a clean read of a step log was replaced by a later re-read that bit rot in
 * transit had spoiled, so recovery lost the "prepare" record and left the blobs it names behind.
 * The second case is its dangerous twin: a damaged "done" record must never make recovery
 * delete what a committed transaction wrote.
 *
 * Every database here commits in place (`journal: false`): these tests name the in-place
 * protocol's steps, logs and files (clustered mode's protocol; journal mode, the standalone
 * default, has its own in tests/journal and the I/O-error loop).
 */
import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Database, type FileHandle, NodeFileSystem, type OpenMode, realEnv } from '../../src/index.js';
import { crashDuring, tempFolder } from '../hazards/helpers.js';

/** node:fs, except that every read of a step log after the first arrives with one bit flipped; counts reads by extension. */
class RotAfterFirstReadFs extends NodeFileSystem {
  readonly reads = new Map<string, number>();

  override async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const inner = await super.open(path, mode);
    return {
      ...bind(inner),
      read: async (position, length) => {
        const bytes = await inner.read(position, length);
        const ext = path.slice(-4);
        const n = (this.reads.get(ext) ?? 0) + 1;
        this.reads.set(ext, n);
        if (ext === '.log' && n > 1 && bytes.length > 20) bytes[20]! ^= 0x08;
        return bytes;
      },
    };
  }
}

function bind(h: FileHandle): FileHandle {
  return {
    read: (p, l) => h.read(p, l),
    write: (p, d) => h.write(p, d),
    datasync: () => h.datasync(),
    sync: () => h.sync(),
    truncate: (n) => h.truncate(n),
    size: () => h.size(),
    close: () => h.close(),
  };
}

const logs = (folder: string, ext: string): string[] => readdirSync(join(folder, 'translogs')).filter((f) => f.endsWith(ext));

async function seed(folder: string): Promise<void> {
  const db = await Database.open({ journal: false, folder });
  try {
    await db.transaction('write', async (tx) => {
      const s = await db.newBtree<number, string>(tx, 's', { valueInNode: false, slotLength: 4 });
      for (let k = 0; k < 10; k++) await s.add(k, `v${k}`);
    });
  } finally {
    await db.close();
  }
}

async function contents(db: Database): Promise<Map<number, string>> {
  return db.transaction('read', async (tx) => {
    const s = await db.openBtree<number, string>(tx, 's');
    const all = new Map<number, string>();
    for await (const [k, v] of s.range()) all.set(k, v);
    return all;
  });
}

async function changeAll(db: Database): Promise<void> {
  await db.transaction('write', async (tx) => {
    const s = await db.openBtree<number, string>(tx, 's');
    for (let k = 0; k < 10; k++) {
      assert.ok(await s.find(k));
      assert.ok(await s.updateCurrentValue(`w${k}`));
    }
  });
}

describe('recovery with damaged logs (REC-1, REC-4)', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof tempFolder>;
  beforeEach(() => (tmp = tempFolder('logs')));
  afterEach(() => tmp.remove());

  it('REC-1: a clean read of a step log is kept when later re-reads are spoiled in transit (sim seed 598579142)', async () => {
    await seed(tmp.path);
    await crashDuring(tmp.path, 'commit.afterBlobs', changeAll);
    const [log] = logs(tmp.path, '.log');
    assert.ok(log, 'the crash left a step log');
    // A torn, empty priority log makes recovery read the transaction's files again.
    writeFileSync(join(tmp.path, 'translogs', log.replace(/\.log$/, '.plg')), new Uint8Array(0));
    const fs = new RotAfterFirstReadFs();
    const db = await Database.open({ journal: false, folder: tmp.path, env: { ...realEnv(), fs } });
    try {
      assert.ok((fs.reads.get('.plg') ?? 0) > 1, 'recovery read the torn priority log again (the retry path ran)');
      assert.deepEqual(await contents(db), new Map(Array.from({ length: 10 }, (_, k) => [k, `v${k}`])));
      const check = await db.checkStore('s');
      assert.equal(check.orphanBlobs, 0, `orphans left by the undone transaction: ${check.orphanSample.join(', ')}`);
      assert.deepEqual(readdirSync(join(tmp.path, 'translogs')), []);
    } finally {
      await db.close();
    }
  });

  it('REC-4: a committed transaction whose "done" record is damaged is never undone', async () => {
    await seed(tmp.path);
    await crashDuring(tmp.path, 'commit.afterCleanup', changeAll);
    const [log] = logs(tmp.path, '.log');
    assert.ok(log, 'the crash left a step log');
    assert.deepEqual(logs(tmp.path, '.plg'), [], 'the priority log was already removed after "done"');
    const path = join(tmp.path, 'translogs', log);
    const bytes = readFileSync(path);
    bytes[bytes.length - 3]! ^= 0x01; // inside the last record: "done"
    writeFileSync(path, bytes);
    const db = await Database.open({ journal: false, folder: tmp.path });
    try {
      assert.deepEqual(await contents(db), new Map(Array.from({ length: 10 }, (_, k) => [k, `w${k}`])));
      const check = await db.checkStore('s');
      assert.equal(check.count, 10);
      assert.deepEqual(readdirSync(join(tmp.path, 'translogs')), []);
    } finally {
      await db.close();
    }
  });
});
