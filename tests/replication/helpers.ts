/** Fixtures for the replication suites: two drive folders, drive-level fault plans over real node:fs, a counted workload. */
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { FaultyFileSystem, ioError } from '../../fault-injection/faulty-fs.js';
import { realEnv } from '../../src/adapters/real-env.js';
import { Database } from '../../src/database/database.js';

import { TempDirs } from '../ec/helpers.js';

export { TempDirs };

/** Two drive folders (not created: the database creates them). */
export function drivePair(dirs: TempDirs): { a: string; b: string } {
  const root = dirs.make('sop-repl-');
  return { a: path.join(root, 'drive-a'), b: path.join(root, 'drive-b') };
}

/**
 * Drive-level faults over the real file system: a drive (a folder prefix) that is marked
 * failing rejects every call under it with `code` (EIO: a dead disk) until it is healed.
 * `failing.set(root, code)` takes effect for the next call, mid-transaction included.
 */
export class Drives {
  readonly failing = new Map<string, string>();
  readonly fs: FaultyFileSystem;

  constructor() {
    this.fs = new FaultyFileSystem(realEnv().fs, (call) => {
      for (const [root, code] of this.failing) {
        if (call.path === root || call.path.startsWith(`${root}/`) || call.path.includes(` -> ${root}/`)) return ioError(code, call);
      }
      return null;
    });
  }

  env(): ReturnType<typeof realEnv> {
    return { ...realEnv(), fs: this.fs };
  }
}

/** Opens the pair (drive a active at first); `journal: false` commits in place instead of through the journal (the default). */
export function openReplicated(pair: { a: string; b: string }, drives: Drives = new Drives(), options: { journal?: boolean } = {}): Promise<Database> {
  return Database.open({ folder: pair.a, env: drives.env(), replication: { passive: pair.b }, ...options });
}

export const STORE = 'items';

/** Commits `count` transactions of `per` items each, keys from `from`; returns the keys of every acknowledged commit. */
export async function writeItems(db: Database, from: number, count: number, per = 5): Promise<{ acked: number[]; failed: number }> {
  const acked: number[] = [];
  let failed = 0;
  for (let t = 0; t < count; t++) {
    const keys = Array.from({ length: per }, (_, i) => from + t * per + i);
    try {
      await db.transaction('write', async (tx) => {
        const tree = ((await db.listStores()).map((s) => s.name)).includes(STORE) ? await db.openBtree<number, string>(tx, STORE) : await db.newBtree<number, string>(tx, STORE, { slotLength: 8 });
        for (const k of keys) await tree.add(k, valueOf(k));
      });
      acked.push(...keys);
    } catch {
      failed++;
    }
  }
  return { acked, failed };
}

export function valueOf(key: number): string {
  return `value-${key}-${'x'.repeat(key % 17)}`;
}

/** Every acknowledged key reads back with its value, and the store's structure check passes. */
export async function assertHolds(db: Database, acked: readonly number[]): Promise<void> {
  await db.transaction('read', async (tx) => {
    const tree = await db.openBtree<number, string>(tx, STORE);
    for (const k of acked) {
      assert.equal(await tree.find(k), true, `acknowledged key ${k} lost`);
      assert.equal(await tree.getCurrentValue(), valueOf(k));
    }
  });
  const check = await db.checkStore(STORE); // throws CORRUPT on a broken tree, count or reference
  assert.equal(check.count, acked.length, `count ${check.count}, acknowledged ${acked.length}`);
}
