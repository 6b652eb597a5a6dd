/**
 * Fixtures for the mutation-focused tests (issue #3, item 8): small stores on real folders,
 * file-system fault plans that can be armed mid-commit, reads spoiled in transit, and views of
 * what is on disk (blob files, logs, store infos, priority logs).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FaultyFileSystem } from '../../fault-injection/faulty-fs.js';
import { Database, type Env, type FileHandle, NodeFileSystem, type OpenMode, SopError, realEnv } from '../../src/index.js';
import type { CrashPoint } from '../../src/ports/points.js';
import { type StoreInfo, decodeStoreInfo } from '../../src/store/store-info.js';
import { type PriorityLog, parsePriorityLog } from '../../src/txn/logs.js';

export { tempFolder, crashDuring } from '../hazards/helpers.js';

/** Every blob file of a store (node and value blobs), by id. */
export function blobIds(folder: string, store: string): Set<string> {
  const dir = join(folder, 'stores', store, 'blobs');
  const ids = new Set<string>();
  for (const sub of readdirSync(dir)) for (const f of readdirSync(join(dir, sub))) ids.add(f);
  return ids;
}

export function translogs(folder: string): string[] {
  return readdirSync(join(folder, 'translogs')).sort();
}

export function storeInfoOnDisk(folder: string, store: string): StoreInfo {
  return decodeStoreInfo(readFileSync(join(folder, 'stores', store, 'storeinfo')), store);
}

/** The one priority log in translogs/, parsed. */
export function onlyPriorityLog(folder: string): PriorityLog {
  const plgs = translogs(folder).filter((f) => f.endsWith('.plg'));
  assert.equal(plgs.length, 1, `exactly one priority log: ${plgs.join(', ')}`);
  const log = parsePriorityLog(readFileSync(join(folder, 'translogs', plgs[0]!)), plgs[0]!);
  assert.ok(log, 'the priority log parses');
  return log;
}

/** A failure predicate for assert.rejects: a SopError with this code. */
export const code =
  (c: string) =>
  (e: unknown): boolean => {
    assert.ok(SopError.is(e), `expected SopError ${c}, got ${String(e)}`);
    assert.equal(e.code, c, `expected ${c}, got ${e.code}: ${e.message}`);
    return true;
  };

/** node:fs through a fault plan that a test swaps while the engine runs (`fs.plan = ...`). */
export function switchableFs(): FaultyFileSystem {
  return new FaultyFileSystem(new NodeFileSystem(), () => null);
}

/** The production Env with another file system and/or a point hook. */
export function envWith(fs: Env['fs'] = new NodeFileSystem(), point?: (name: CrashPoint) => void | Promise<void>): Env {
  return { ...realEnv(), fs, ...(point ? { point } : {}) };
}

/** Every entry of a store, in key order; checks the store's count equals a full scan. */
export async function contents<V>(db: Database, store: string): Promise<Map<unknown, V>> {
  return db.transaction('read', async (tx) => {
    const b = await db.openBtree<unknown, V>(tx, store);
    const all = new Map<unknown, V>();
    for await (const [k, v] of b.range()) all.set(k, v);
    assert.equal(b.count, all.size, `${store}: count equals a full scan`);
    return all;
  });
}

/** The structure check (STRUCT-1..3): tree, count, every referenced blob present, no orphan blob. */
export async function assertClean(db: Database, store: string, count: number): Promise<void> {
  const check = await db.checkStore(store);
  assert.equal(check.count, count, `${store}: checkStore count`);
  assert.equal(check.orphanBlobs, 0, `${store}: orphan blobs ${check.orphanSample.join(', ')}`);
}

export function range(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

export function mapOf<V>(keys: number[], value: (k: number) => V): Map<unknown, V> {
  return new Map(keys.map((k) => [k, value(k)]));
}

/**
 * node:fs, except that reads of `.log` / `.plg` files may arrive with one byte flipped near the
 * end (inside the last record): `spoil(ext, n)` decides for the n-th read (1-based) of that
 * kind. Models media errors in transit: the file on disk is intact.
 */
export class SpoilingFs extends NodeFileSystem {
  readonly reads = new Map<string, number>();

  constructor(private readonly spoil: (ext: '.log' | '.plg', n: number) => boolean) {
    super();
  }

  override async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const inner = await super.open(path, mode);
    const ext = path.slice(-4);
    return {
      read: async (position, length) => {
        const bytes = await inner.read(position, length);
        if (ext !== '.log' && ext !== '.plg') return bytes;
        const n = (this.reads.get(ext) ?? 0) + 1;
        this.reads.set(ext, n);
        if (bytes.length > 8 && this.spoil(ext, n)) bytes[bytes.length - 3]! ^= 0x10;
        return bytes;
      },
      write: (p, d) => inner.write(p, d),
      datasync: () => inner.datasync(),
      sync: () => inner.sync(),
      truncate: (n) => inner.truncate(n),
      size: () => inner.size(),
      close: () => inner.close(),
    };
  }
}

/** Items in the template's store `s` (values in blobs) and `o` (values in nodes), both slotLength 4. */
export const S = 12;
export const O = 6;
export const sValues = (): Map<unknown, string> => mapOf(range(S), (k) => `v${k}`);
export const oValues = (): Map<unknown, string> => mapOf(range(O), (k) => `o${k}`);

/** Creates the two-store database every test of this folder starts from (copied per test: store creation is slow). */
export async function seedTemplate(folder: string): Promise<void> {
  const db = await Database.open({ journal: false, folder });
  try {
    await db.transaction('write', async (tx) => {
      const s = await db.newBtree<number, string>(tx, 's', { valueInNode: false, slotLength: 4 });
      for (const k of range(S)) await s.add(k, `v${k}`);
      const o = await db.newBtree<number, string>(tx, 'o', { slotLength: 4 });
      for (const k of range(O)) await o.add(k, `o${k}`);
    });
  } finally {
    await db.close();
  }
}

/** Copies a database folder (`cp -a` where available: several times faster than cpSync on 512 fan-out folders). */
export function copyFolder(from: string, to: string): void {
  try {
    execFileSync('cp', ['-a', from, to], { stdio: 'ignore' });
  } catch {
    cpSync(from, to, { recursive: true });
  }
}
