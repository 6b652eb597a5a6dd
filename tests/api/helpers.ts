/** Shared fixtures for the public-API tests: temp folders, typed-error assertions, walks. */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database, SopError, type Btree, type SopErrorCode } from '../../src/index.js';

/** Temp folders created by a suite; call `cleanup` in `after`. */
export class TempDirs {
  private readonly dirs: string[] = [];

  make(prefix = 'sop-'): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Opens a database on a fresh temp folder. */
export async function freshDb(dirs: TempDirs): Promise<{ db: Database; folder: string }> {
  const folder = dirs.make();
  return { db: await Database.open({ folder }), folder };
}

/** Closes and reopens the database on the same folder. */
export async function reopen(db: Database): Promise<Database> {
  await db.close();
  return Database.open({ folder: db.folder });
}

/** Asserts that `action` fails with a SopError of `code` (sync throw or rejection); returns the error. */
export async function expectSopError(action: Promise<unknown> | (() => unknown), code: SopErrorCode): Promise<SopError> {
  let outcome: unknown;
  try {
    outcome = await (typeof action === 'function' ? action() : action);
  } catch (error) {
    assert.ok(error instanceof SopError, `expected a SopError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    return error;
  }
  assert.fail(`expected a SopError ${code}, but the call returned ${describe(outcome)}`);
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Every entry through the range iterator. */
export async function collect<K, V>(tree: Btree<K, V>, options: Parameters<Btree<K, V>['range']>[0] = {}): Promise<Array<[K, V]>> {
  const out: Array<[K, V]> = [];
  for await (const entry of tree.range(options)) out.push(entry);
  return out;
}

/** Every entry through the cursor (first/next, or last/previous). */
export async function walk<K, V>(tree: Btree<K, V>, backward = false): Promise<Array<[K, V]>> {
  const out: Array<[K, V]> = [];
  let ok = backward ? await tree.last() : await tree.first();
  while (ok) {
    out.push([tree.getCurrentKey() as K, (await tree.getCurrentValue()) as V]);
    ok = backward ? await tree.previous() : await tree.next();
  }
  return out;
}

export async function keysOf<K, V>(tree: Btree<K, V>): Promise<K[]> {
  return (await walk(tree)).map(([k]) => k);
}

/** find + getCurrentValue: the value under `key`, or undefined when absent. */
export async function valueAt<K, V>(tree: Btree<K, V>, key: K): Promise<V | undefined> {
  return (await tree.find(key)) ? tree.getCurrentValue() : undefined;
}

/** Creates (or opens) a store and fills it in one committed transaction. */
export async function seedStore<K, V>(
  db: Database,
  name: string,
  entries: ReadonlyArray<readonly [K, V]>,
  options: Parameters<Database['newBtree']>[2] = {},
): Promise<void> {
  await db.transaction('write', async (tx) => {
    const tree = await db.newBtree<K, V>(tx, name, options as never);
    for (const [k, v] of entries) assert.ok(await tree.add(k, v), `seed add ${describe(k)}`);
  });
}

/** Runs `fn` on an opened store in a read transaction (committed afterwards). */
export async function readStore<K, V, T>(db: Database, name: string, fn: (tree: Btree<K, V>) => Promise<T>, comparer?: (a: K, b: K) => number): Promise<T> {
  return db.transaction('read', async (tx) => fn(await db.openBtree<K, V>(tx, name, comparer ? { comparer } : {})));
}

/** Relative paths of every file under `root`, sorted. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else out.push(path.relative(root, full));
    }
  };
  visit(root);
  return out.sort();
}

/** Blob files of a store (node and value blobs), absolute paths, sorted. */
export function blobFiles(folder: string, store: string): string[] {
  const dir = path.join(folder, 'stores', store, 'blobs');
  return listFiles(dir).map((f) => path.join(dir, f));
}

/** XORs one byte of a file with 0xff; returns a function that restores it. */
export function flipByte(file: string, offset: number): () => void {
  const bytes = fs.readFileSync(file);
  const at = Math.min(Math.max(0, offset), bytes.length - 1);
  const original = Buffer.from(bytes);
  bytes[at] = bytes[at]! ^ 0xff;
  fs.writeFileSync(file, bytes);
  return () => fs.writeFileSync(file, original);
}

/** Sequence 0..n-1. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Zero-padded string key, so string order equals numeric order. */
export function pad(n: number, width = 4): string {
  return String(n).padStart(width, '0');
}

/** Files under `folder` this process holds open (Linux: /proc/self/fd). */
export function openFilesUnder(folder: string): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(folder + path.sep)) out.push(path.relative(folder, target));
    } catch {
      // closed while listing
    }
  }
  return out.sort();
}
