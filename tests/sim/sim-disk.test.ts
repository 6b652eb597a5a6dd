/** SimDisk: FileSystem port semantics, the power-loss model, injected faults and determinism. */
import { strict as assert } from 'node:assert';
import { posix } from 'node:path';
import type { FileHandle, FileSystem } from '../../src/ports/file-system.js';
import { FolderDevice } from '../../sim/folder-device.js';
import { SimDisk } from '../../sim/sim-disk.js';
import type { Gate, IoScheduler, SimRandom } from '../../sim/types.js';

// ---- test doubles ------------------------------------------------------------------------------

/** mulberry32: tiny, seedable, good enough to exercise every crash outcome. */
class TestRandom implements SimRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  float(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
}

class TestGate implements Gate {
  private live = true;
  kill(): void {
    this.live = false;
  }
  alive(): boolean {
    return this.live;
  }
  hang<T>(): Promise<T> {
    return new Promise<T>(() => {});
  }
}

const immediate: IoScheduler = { async complete() {} };

/** Holds every completion until released, to kill a process while its I/O is in flight. */
class HeldScheduler implements IoScheduler {
  readonly labels: string[] = [];
  private readonly waiting: (() => void)[] = [];
  complete(label: string): Promise<void> {
    this.labels.push(label);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  releaseAll(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

// ---- helpers -----------------------------------------------------------------------------------

interface Rig {
  disk: SimDisk;
  gate: TestGate;
  fs: FileSystem;
}

function rig(seed = 1): Rig {
  const disk = new SimDisk('d0', new TestRandom(seed));
  const gate = new TestGate();
  return { disk, gate, fs: disk.view(gate, immediate) };
}

/** Kills the process, cuts the power and starts a new incarnation. */
function powerCycle(r: Rig): void {
  r.gate.kill();
  r.disk.crash();
  r.gate = new TestGate();
  r.fs = r.disk.view(r.gate, immediate);
}

function bytes(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b));

async function rejectsWith(promise: Promise<unknown>, code: string, path?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof Error, 'an Error');
    assert.equal((error as NodeJS.ErrnoException).code, code, error.message);
    if (path !== undefined) assert.ok(error.message.includes(path), `message names ${path}: ${error.message}`);
    return true;
  });
}

/** A file whose content and directory entry are both durable. */
async function durableFile(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  const h = await fs.open(path, 'create');
  await h.write(0, data);
  await h.datasync();
  await h.close();
  await fs.syncDir(posix.dirname(path));
}

async function writeAndClose(fs: FileSystem, path: string, position: number, data: Uint8Array): Promise<void> {
  const h = await fs.open(path, 'readWrite');
  await h.write(position, data);
  await h.close();
}

/** Settles with 'pending' if `promise` has not settled after a few turns of the event loop. */
async function settledOrPending(promise: Promise<unknown>): Promise<string> {
  const later = new Promise<string>((resolve) => setImmediate(() => setImmediate(() => resolve('pending'))));
  return Promise.race([promise.then(() => 'settled', () => 'settled'), later]);
}

const SEEDS = Array.from({ length: 300 }, (_, i) => i + 1);

// ---- port semantics ----------------------------------------------------------------------------

describe('sim-disk: FileSystem port semantics', () => {
  it('open modes: read/readWrite need the file, create makes it, createNew refuses an existing one', async () => {
    const { fs } = rig();
    await rejectsWith(fs.open('/a', 'read'), 'ENOENT', '/a');
    await rejectsWith(fs.open('/a', 'readWrite'), 'ENOENT', '/a');
    await (await fs.open('/a', 'create')).close();
    assert.deepEqual(await fs.stat('/a'), { size: 0, isFile: true, isDirectory: false, mtimeMs: (await fs.stat('/a'))!.mtimeMs });
    await rejectsWith(fs.open('/a', 'createNew'), 'EEXIST', '/a');
    await (await fs.open('/b', 'createNew')).close();
    await (await fs.open('/a', 'create')).close(); // opening an existing file with 'create' is fine
    assert.deepEqual(await fs.readdir('/'), ['a', 'b']);
  });

  it('open reports EISDIR for a directory, ENOENT for a missing parent, ENOTDIR through a file', async () => {
    const { fs } = rig();
    await fs.mkdir('/d');
    await fs.writeFile('/f', text('x'));
    for (const mode of ['read', 'readWrite', 'create', 'createNew'] as const) {
      await rejectsWith(fs.open('/d', mode), mode === 'createNew' ? 'EEXIST' : 'EISDIR', '/d');
    }
    await rejectsWith(fs.open('/missing/x', 'create'), 'ENOENT', '/missing/x');
    await rejectsWith(fs.open('/f/x', 'create'), 'ENOTDIR', '/f/x');
    await rejectsWith(fs.open('/f/x', 'read'), 'ENOTDIR', '/f/x');
  });

  it('handle read/write/size/truncate behave like pread/pwrite/ftruncate', async () => {
    const { fs } = rig();
    const h = await fs.open('/f', 'create');
    await h.write(4, text('abc'));
    assert.equal(await h.size(), 7);
    assert.deepEqual(await h.read(0, 7), new Uint8Array([0, 0, 0, 0, 97, 98, 99]), 'gap is zero-filled');
    assert.equal(str(await h.read(5, 100)), 'bc', 'short read at EOF');
    assert.equal((await h.read(50, 10)).length, 0);
    await h.write(10, new Uint8Array(0));
    assert.equal(await h.size(), 7, 'an empty write does not extend');
    await h.truncate(5);
    assert.equal(str(await h.read(4, 10)), 'a');
    await h.truncate(8);
    assert.deepEqual(await h.read(4, 10), new Uint8Array([97, 0, 0, 0]), 'truncate-extend exposes zeros, not old bytes');
    await h.close();
  });

  it('the written data is copied: changing the buffer after the write does not change the file', async () => {
    const { fs, disk } = rig();
    const data = text('hello');
    await fs.writeFile('/w', data);
    const h = await fs.open('/h', 'create');
    await h.write(0, data);
    data.fill(0);
    assert.equal(str(disk.peekFile('/w')), 'hello');
    assert.equal(str(await h.read(0, 5)), 'hello');
  });

  it('a read-only handle cannot write or truncate; a closed handle rejects every call with EBADF', async () => {
    const { fs } = rig();
    await fs.writeFile('/f', text('data'));
    const ro = await fs.open('/f', 'read');
    await rejectsWith(ro.write(0, text('x')), 'EBADF', '/f');
    await rejectsWith(ro.truncate(0), 'EBADF', '/f');
    await ro.datasync(); // fsync on a read-only descriptor is allowed
    await ro.close();
    const calls: ((h: FileHandle) => Promise<unknown>)[] = [
      (h) => h.read(0, 1), (h) => h.write(0, text('x')), (h) => h.datasync(), (h) => h.sync(),
      (h) => h.truncate(0), (h) => h.size(), (h) => h.close(),
    ];
    for (const call of calls) await rejectsWith(call(ro), 'EBADF', '/f');
    assert.equal(str(await fs.readFile('/f')), 'data');
  });

  it('readFile and writeFile', async () => {
    const { fs } = rig();
    await rejectsWith(fs.readFile('/nope'), 'ENOENT', '/nope');
    await fs.writeFile('/f', text('long content'));
    await fs.writeFile('/f', text('short'));
    assert.equal(str(await fs.readFile('/f')), 'short', 'writeFile replaces the whole file');
    await fs.mkdir('/d');
    await rejectsWith(fs.readFile('/d'), 'EISDIR', '/d');
    await rejectsWith(fs.writeFile('/d', text('x')), 'EISDIR', '/d');
    await rejectsWith(fs.writeFile('/nodir/f', text('x')), 'ENOENT', '/nodir/f');
  });

  it('rename moves files and directories and replaces an existing file', async () => {
    const { fs } = rig();
    await fs.mkdir('/a/sub');
    await fs.writeFile('/a/sub/f', text('f'));
    await fs.writeFile('/g', text('g'));
    await fs.rename('/a/sub/f', '/g');
    assert.equal(str(await fs.readFile('/g')), 'f');
    assert.deepEqual(await fs.readdir('/a/sub'), []);
    await fs.writeFile('/a/sub/x', text('x'));
    await fs.rename('/a', '/b');
    assert.equal(str(await fs.readFile('/b/sub/x')), 'x');
    assert.equal(await fs.stat('/a'), null);
    await rejectsWith(fs.rename('/missing', '/z'), 'ENOENT', '/missing');
    await rejectsWith(fs.rename('/g', '/nodir/g'), 'ENOENT', '/nodir/g');
  });

  it('rename refuses a file over a directory, a directory over a non-empty one, and a directory into itself', async () => {
    const { fs } = rig();
    await fs.mkdir('/d/inner');
    await fs.mkdir('/e');
    await fs.writeFile('/e/x', text('x'));
    await fs.writeFile('/f', text('f'));
    await rejectsWith(fs.rename('/f', '/d'), 'EISDIR', '/d');
    await rejectsWith(fs.rename('/d', '/f'), 'ENOTDIR', '/f');
    await rejectsWith(fs.rename('/d', '/e'), 'ENOTEMPTY', '/e');
    await rejectsWith(fs.rename('/d', '/d/inner/d'), 'EINVAL', '/d/inner/d');
    await fs.rename('/e', '/d/inner'); // onto an empty directory is allowed
    assert.deepEqual(await fs.readdir('/d/inner'), ['x']);
  });

  it('unlink removes files only', async () => {
    const { fs } = rig();
    await fs.writeFile('/f', text('f'));
    await fs.mkdir('/d');
    await fs.unlink('/f');
    assert.equal(await fs.stat('/f'), null);
    await rejectsWith(fs.unlink('/f'), 'ENOENT', '/f');
    await rejectsWith(fs.unlink('/d'), 'EISDIR', '/d');
  });

  it('an open handle keeps an unlinked file readable', async () => {
    const { fs } = rig();
    await fs.writeFile('/f', text('still here'));
    const h = await fs.open('/f', 'read');
    await fs.unlink('/f');
    assert.equal(str(await h.read(0, 100)), 'still here');
  });

  it('mkdir is recursive and idempotent, ENOTDIR through a file, EEXIST over one', async () => {
    const { fs } = rig();
    await fs.mkdir('/a/b/c');
    await fs.mkdir('/a/b/c');
    await fs.mkdir('/');
    assert.deepEqual(await fs.readdir('/a/b'), ['c']);
    await fs.writeFile('/a/f', text('f'));
    await rejectsWith(fs.mkdir('/a/f/g'), 'ENOTDIR', '/a/f/g');
    await rejectsWith(fs.mkdir('/a/f'), 'EEXIST', '/a/f'); // POSIX and node:fs (FileSystem conformance suite)
  });

  it('removeTree removes a tree, a single file, or nothing', async () => {
    const { fs, disk } = rig();
    await fs.mkdir('/t/u');
    await fs.writeFile('/t/u/f', text('f'));
    await fs.writeFile('/t/g', text('g'));
    await fs.writeFile('/keep', text('k'));
    await fs.removeTree('/t');
    await fs.removeTree('/t');
    await fs.removeTree('/missing/deeper');
    assert.deepEqual(await fs.readdir('/'), ['keep']);
    await fs.removeTree('/keep');
    assert.deepEqual(disk.listTree('/'), []);
  });

  it('readdir is sorted; ENOENT when missing, ENOTDIR on a file', async () => {
    const { fs } = rig();
    for (const name of ['zeta', 'alpha', 'mid']) await fs.writeFile(`/${name}`, text(name));
    await fs.mkdir('/beta');
    assert.deepEqual(await fs.readdir('/'), ['alpha', 'beta', 'mid', 'zeta']);
    await rejectsWith(fs.readdir('/nope'), 'ENOENT', '/nope');
    await rejectsWith(fs.readdir('/mid'), 'ENOTDIR', '/mid');
  });

  it('stat: null when missing, sizes and kinds, mtime from a deterministic counter', async () => {
    const { fs } = rig();
    assert.equal(await fs.stat('/nope'), null);
    await fs.mkdir('/d');
    await fs.writeFile('/d/f', text('12345'));
    const before = (await fs.stat('/d/f'))!;
    assert.deepEqual({ ...before, mtimeMs: 0 }, { size: 5, isFile: true, isDirectory: false, mtimeMs: 0 });
    assert.equal((await fs.stat('/d'))!.isDirectory, true);
    await writeAndClose(fs, '/d/f', 5, text('6'));
    assert.ok((await fs.stat('/d/f'))!.mtimeMs > before.mtimeMs);
    await rejectsWith(fs.stat('/d/f/x'), 'ENOTDIR', '/d/f/x');
    const again = rig();
    await again.fs.mkdir('/d');
    await again.fs.writeFile('/d/f', text('12345'));
    assert.equal((await again.fs.stat('/d/f'))!.mtimeMs, before.mtimeMs);
  });

  it('syncDir: ENOENT when missing, ENOTDIR on a file', async () => {
    const { fs } = rig();
    await fs.writeFile('/f', text('f'));
    await rejectsWith(fs.syncDir('/nope'), 'ENOENT', '/nope');
    await rejectsWith(fs.syncDir('/f'), 'ENOTDIR', '/f');
    await fs.syncDir('/');
  });

  it('labels each operation for the scheduler with the disk name and path', async () => {
    const disk = new SimDisk('d7', new TestRandom(1));
    const labels: string[] = [];
    const fs = disk.view(new TestGate(), { async complete(label) { labels.push(label); } });
    await fs.mkdir('/x');
    await fs.rename('/x', '/y');
    const h = await fs.open('/y/f', 'create');
    await h.write(0, text('a'));
    assert.deepEqual(labels, ['d7.mkdir /x', 'd7.rename /x -> /y', 'd7.open /y/f', 'd7.write /y/f']);
  });

  it('peekFile and listTree see the current state without faults', async () => {
    const { fs, disk } = rig();
    await fs.mkdir('/a/b');
    await fs.writeFile('/a/b/f', text('f'));
    await fs.writeFile('/a/g', text('g'));
    disk.faults = { offline: true };
    assert.deepEqual(disk.listTree('/'), ['/a/b/f', '/a/g']);
    assert.deepEqual(disk.listTree('/a/b'), ['/a/b/f']);
    assert.deepEqual(disk.listTree('/a/g'), ['/a/g']);
    assert.deepEqual(disk.listTree('/none'), []);
    assert.equal(str(disk.peekFile('/a/g')), 'g');
    assert.equal(disk.peekFile('/a'), null);
    assert.equal(disk.peekFile('/a/g/x'), null);
  });
});

// ---- power loss --------------------------------------------------------------------------------

describe('sim-disk: power loss', () => {
  it('synced data always survives, whatever happens to unsynced data around it', async () => {
    for (const seed of SEEDS.slice(0, 100)) {
      const r = rig(seed);
      await r.fs.mkdir('/db');
      await r.fs.syncDir('/');
      await durableFile(r.fs, '/db/kept', bytes(3000, 7));
      await r.fs.writeFile('/db/volatile', bytes(2000, 9));
      await writeAndClose(r.fs, '/db/kept', 3000, bytes(700, 8)); // unsynced append
      powerCycle(r);
      const kept = (await r.fs.readFile('/db/kept')).subarray(0, 3000);
      assert.deepEqual(kept, bytes(3000, 7), `seed ${seed}`);
    }
  });

  it('each unsynced write is applied, dropped or torn at 512-byte file offsets, never touching other bytes', async () => {
    const outcomes = new Set<string>();
    const [offset, length] = [100, 1500]; // spans sectors [100,512) [512,1024) [1024,1536) [1536,1600)
    for (const seed of SEEDS) {
      const r = rig(seed);
      await durableFile(r.fs, '/f', bytes(4096, 0xaa));
      await writeAndClose(r.fs, '/f', offset, bytes(length, 0xbb));
      powerCycle(r);
      const after = await r.fs.readFile('/f');
      assert.equal(after.length, 4096);
      outcomes.add(classifyWrite(after, offset, length, 0xaa, 0xbb, seed));
    }
    assert.deepEqual([...outcomes].sort(), ['applied', 'dropped', 'torn']);
  });

  it('an unsynced append past EOF leaves the old bytes intact and only written or zero bytes beyond', async () => {
    const sizes = new Set<number>();
    for (const seed of SEEDS) {
      const r = rig(seed);
      await durableFile(r.fs, '/f', bytes(1000, 1));
      await writeAndClose(r.fs, '/f', 1000, bytes(1100, 2)); // pieces [1000,1024) [1024,1536) [1536,2048) [2048,2100)
      powerCycle(r);
      const after = await r.fs.readFile('/f');
      sizes.add(after.length);
      assert.deepEqual(after.subarray(0, 1000), bytes(1000, 1), `seed ${seed}`);
      assert.ok([1000, 1024, 1536, 2048, 2100].includes(after.length), `size ${after.length} ends at a piece boundary`);
      for (const piece of [[1000, 1024], [1024, 1536], [1536, 2048], [2048, 2100]] as const) {
        const slice = after.subarray(piece[0], Math.min(piece[1], after.length));
        assert.ok(slice.every((b) => b === 2) || slice.every((b) => b === 0), `seed ${seed} piece ${piece[0]}`);
      }
    }
    assert.ok(sizes.has(1000) && sizes.has(2100) && sizes.size > 2, [...sizes].join(','));
  });

  it('an unsynced truncate is either kept or dropped', async () => {
    const sizes = new Set<number>();
    for (const seed of SEEDS.slice(0, 50)) {
      const r = rig(seed);
      await durableFile(r.fs, '/f', bytes(2048, 3));
      const h = await r.fs.open('/f', 'readWrite');
      await h.truncate(100);
      powerCycle(r);
      const after = await r.fs.readFile('/f');
      sizes.add(after.length);
      assert.ok(after.every((b) => b === 3));
    }
    assert.deepEqual([...sizes].sort((a, b) => a - b), [100, 2048]);
  });

  it('a datasynced file whose directory was not synced vanishes; after syncDir it survives', async () => {
    for (const seed of SEEDS.slice(0, 20)) {
      const r = rig(seed);
      const h = await r.fs.open('/f', 'createNew');
      await h.write(0, text('synced'));
      await h.datasync();
      powerCycle(r);
      assert.equal(await r.fs.stat('/f'), null, `seed ${seed}`);
      await durableFile(r.fs, '/g', text('synced'));
      powerCycle(r);
      assert.equal(str(await r.fs.readFile('/g')), 'synced');
    }
  });

  it('a directory never made durable in its parent vanishes with its content', async () => {
    const r = rig();
    await r.fs.mkdir('/a/b');
    await r.fs.syncDir('/a');
    await durableFile(r.fs, '/a/b/f', text('x'));
    powerCycle(r);
    assert.deepEqual(await r.fs.readdir('/'), []);
    assert.deepEqual(r.disk.listTree('/'), []);
  });

  it('a rename is volatile until both directories are synced', async () => {
    const cases = [
      { synced: [], expect: { a: true, b: false } },
      { synced: ['/b'], expect: { a: true, b: true } }, // the new entry is durable, the old one too
      { synced: ['/a'], expect: { a: false, b: false } }, // the old entry is gone, the new one not yet
      { synced: ['/a', '/b'], expect: { a: false, b: true } },
    ];
    for (const { synced, expect } of cases) {
      const r = rig();
      await r.fs.mkdir('/a');
      await r.fs.mkdir('/b');
      await r.fs.syncDir('/');
      await durableFile(r.fs, '/a/f', text('content'));
      await r.fs.rename('/a/f', '/b/f');
      for (const dir of synced) await r.fs.syncDir(dir);
      powerCycle(r);
      const seen = { a: (await r.fs.stat('/a/f')) !== null, b: (await r.fs.stat('/b/f')) !== null };
      assert.deepEqual(seen, expect, `synced ${synced.join(',')}`);
      for (const path of ['/a/f', '/b/f']) if (r.disk.peekFile(path)) assert.equal(str(r.disk.peekFile(path)), 'content');
    }
  });

  it('a rename over an existing file reverts to the old file unless synced', async () => {
    const r = rig();
    await durableFile(r.fs, '/cur', text('old'));
    await durableFile(r.fs, '/tmp', text('new'));
    await r.fs.rename('/tmp', '/cur');
    powerCycle(r);
    assert.equal(str(await r.fs.readFile('/cur')), 'old');
    assert.equal(str(await r.fs.readFile('/tmp')), 'new');
    await r.fs.rename('/tmp', '/cur');
    await r.fs.syncDir('/');
    powerCycle(r);
    assert.equal(str(await r.fs.readFile('/cur')), 'new');
    assert.deepEqual(await r.fs.readdir('/'), ['cur']);
  });

  it('an unlink comes back after a crash unless the directory was synced', async () => {
    const r = rig();
    await durableFile(r.fs, '/f', text('f'));
    await r.fs.unlink('/f');
    powerCycle(r);
    assert.equal(str(await r.fs.readFile('/f')), 'f');
    await r.fs.unlink('/f');
    await r.fs.syncDir('/');
    powerCycle(r);
    assert.equal(await r.fs.stat('/f'), null);
  });

  it('removeTree without syncs comes back whole after a crash', async () => {
    const r = rig();
    await r.fs.mkdir('/t/u');
    await r.fs.syncDir('/');
    await r.fs.syncDir('/t');
    await durableFile(r.fs, '/t/u/f', text('f'));
    await r.fs.removeTree('/t');
    powerCycle(r);
    assert.deepEqual(r.disk.listTree('/'), ['/t/u/f']);
  });

  it('handles opened before a crash fail with EBADF even if misused by a live process', async () => {
    const r = rig();
    await durableFile(r.fs, '/f', text('f'));
    const h = await r.fs.open('/f', 'read');
    r.disk.crash();
    await rejectsWith(h.read(0, 1), 'EBADF', '/f');
    await rejectsWith(h.close(), 'EBADF', '/f');
  });

  it('crash outcomes are a function of the seed', async () => {
    const run = async (seed: number): Promise<string> => {
      const r = rig(seed);
      await durableFile(r.fs, '/f', bytes(5000, 1));
      for (let i = 0; i < 10; i++) await writeAndClose(r.fs, '/f', i * 300, bytes(700, 10 + i));
      powerCycle(r);
      return Buffer.from(await r.fs.readFile('/f')).toString('hex');
    };
    assert.equal(await run(42), await run(42));
    assert.notEqual(await run(42), await run(43));
  });
});

/** 'applied' | 'dropped' | 'torn', asserting every sector piece is all-old or all-new. */
function classifyWrite(after: Uint8Array, offset: number, length: number, old: number, fresh: number, seed: number): string {
  for (let i = 0; i < after.length; i++) {
    if (i < offset || i >= offset + length) assert.equal(after[i], old, `seed ${seed}: byte ${i} outside the write changed`);
  }
  const pieces: boolean[] = [];
  for (let start = offset; start < offset + length; start = (Math.floor(start / 512) + 1) * 512) {
    const end = Math.min(offset + length, (Math.floor(start / 512) + 1) * 512);
    const slice = after.subarray(start, end);
    const isNew = slice.every((b) => b === fresh);
    assert.ok(isNew || slice.every((b) => b === old), `seed ${seed}: piece at ${start} is mixed`);
    pieces.push(isNew);
  }
  if (pieces.every((p) => p)) return 'applied';
  return pieces.every((p) => !p) ? 'dropped' : 'torn';
}

// ---- faults ------------------------------------------------------------------------------------

describe('sim-disk: injected faults', () => {
  it('offline fails every call with EIO, wins over other faults, and is counted', async () => {
    const { fs, disk } = rig();
    await fs.writeFile('/f', text('f'));
    const h = await fs.open('/f', 'readWrite');
    disk.faults = { offline: true, enospc: true, eioWrite: 1 };
    const calls: Promise<unknown>[] = [
      fs.open('/f', 'read'), fs.readFile('/f'), fs.writeFile('/g', text('g')), fs.rename('/f', '/g'),
      fs.unlink('/f'), fs.mkdir('/d'), fs.removeTree('/f'), fs.readdir('/'), fs.stat('/f'), fs.syncDir('/'),
      h.read(0, 1), h.write(0, text('x')), h.datasync(), h.sync(), h.truncate(0), h.size(), h.close(),
    ];
    for (const call of calls) await rejectsWith(call, 'EIO');
    assert.equal(disk.stats.faultsInjected.offline, calls.length);
    assert.equal(disk.stats.faultsInjected.eioWrite, undefined);
    disk.faults = {};
    assert.deepEqual(disk.listTree('/'), ['/f']);
    assert.equal(str(await fs.readFile('/f')), 'f');
    await rejectsWith(h.size(), 'EBADF', '/f'); // close released the descriptor despite EIO
  });

  it('eioWrite fails writes, truncates and writeFile without changing anything', async () => {
    const { fs, disk } = rig();
    await fs.writeFile('/f', text('orig'));
    const h = await fs.open('/f', 'readWrite');
    disk.faults.eioWrite = 1;
    await rejectsWith(h.write(0, text('XXXX')), 'EIO', '/f');
    await rejectsWith(h.truncate(0), 'EIO', '/f');
    await rejectsWith(fs.writeFile('/f', text('new')), 'EIO', '/f');
    await rejectsWith(fs.writeFile('/g', text('new')), 'EIO', '/g');
    assert.equal(disk.stats.faultsInjected.eioWrite, 4);
    assert.equal(str(disk.peekFile('/f')), 'orig');
    assert.equal(disk.peekFile('/g'), null);
  });

  it('eioWrite with probability p fails some writes and not others', async () => {
    const { fs, disk } = rig(5);
    const h = await fs.open('/f', 'create');
    disk.faults.eioWrite = 0.5;
    let failed = 0;
    for (let i = 0; i < 100; i++) await h.write(i, text('z')).catch(() => failed++);
    assert.ok(failed > 20 && failed < 80, `${failed}`);
    assert.equal(disk.stats.faultsInjected.eioWrite, failed);
    assert.equal(disk.stats.writes, 100);
  });

  it('eioSync fails datasync/sync/syncDir and makes nothing durable', async () => {
    let lost = 0;
    for (const seed of SEEDS.slice(0, 30)) {
      const r = rig(seed);
      await durableFile(r.fs, '/f', bytes(512, 1));
      const h = await r.fs.open('/f', 'readWrite');
      await h.write(0, bytes(512, 2));
      await r.fs.writeFile('/g', text('g'));
      r.disk.faults.eioSync = 1;
      await rejectsWith(h.datasync(), 'EIO', '/f');
      await rejectsWith(h.sync(), 'EIO', '/f');
      await rejectsWith(r.fs.syncDir('/'), 'EIO', '/');
      assert.equal(r.disk.stats.faultsInjected.eioSync, 3);
      powerCycle(r);
      assert.equal(await r.fs.stat('/g'), null, 'the failed syncDir made no entry durable');
      if ((await r.fs.readFile('/f'))[0] === 1) lost++;
    }
    assert.ok(lost > 0, 'the write whose sync failed was sometimes lost');
  });

  it('enospc fails growing writes, creations and mkdirs, but not overwrites or existing paths', async () => {
    const { fs, disk } = rig();
    await fs.mkdir('/d');
    await fs.writeFile('/d/f', text('1234'));
    const h = await fs.open('/d/f', 'readWrite');
    disk.faults.enospc = true;
    await rejectsWith(h.write(2, text('abc')), 'ENOSPC', '/d/f');
    await rejectsWith(h.truncate(10), 'ENOSPC', '/d/f');
    await rejectsWith(fs.open('/d/new', 'create'), 'ENOSPC', '/d/new');
    await rejectsWith(fs.writeFile('/d/new', text('x')), 'ENOSPC', '/d/new');
    await rejectsWith(fs.writeFile('/d/f', text('12345')), 'ENOSPC', '/d/f');
    await rejectsWith(fs.mkdir('/d/e/f'), 'ENOSPC', '/d/e/f');
    await h.write(0, text('ab'));
    await h.truncate(2);
    await fs.writeFile('/d/f', text('xy'));
    await fs.mkdir('/d');
    await (await fs.open('/d/f', 'create')).close();
    assert.equal(disk.stats.faultsInjected.enospc, 6);
    assert.deepEqual(disk.listTree('/'), ['/d/f']);
    assert.equal(str(disk.peekFile('/d/f')), 'xy');
  });

  it('latent read errors fail reads but never change the stored bytes', async () => {
    const { fs, disk } = rig();
    await fs.writeFile('/f', text('payload'));
    const h = await fs.open('/f', 'read');
    disk.faults.latentReadError = 1;
    await rejectsWith(h.read(0, 7), 'EIO', '/f');
    await rejectsWith(fs.readFile('/f'), 'EIO', '/f');
    assert.equal(disk.stats.faultsInjected.latentReadError, 2);
    disk.faults.latentReadError = 0;
    assert.equal(str(await h.read(0, 7)), 'payload');
    assert.equal(str(disk.peekFile('/f')), 'payload');
  });

  it('bit rot flips exactly one bit of what is returned, never of what is stored', async () => {
    const { fs, disk } = rig(3);
    const stored = bytes(64, 0x55);
    await fs.writeFile('/f', stored);
    const h = await fs.open('/f', 'read');
    disk.faults.bitRot = 1;
    for (const read of [() => h.read(0, 64), () => fs.readFile('/f')]) {
      const got = await read();
      const flipped = got.reduce((n, b, i) => n + popcount(b ^ stored[i]!), 0);
      assert.equal(flipped, 1);
    }
    assert.equal(disk.stats.faultsInjected.bitRot, 2);
    assert.deepEqual(disk.peekFile('/f'), stored);
    disk.faults.bitRot = 0;
    assert.deepEqual(await fs.readFile('/f'), stored);
  });

  it('a misdirected write lands elsewhere, reports success, and happens at most once', async () => {
    let sameFile = 0;
    let otherFile = 0;
    for (const seed of SEEDS.slice(0, 40)) {
      const r = rig(seed);
      await r.fs.writeFile('/other', bytes(8192, 0x11));
      await r.fs.writeFile('/f', bytes(8192, 0x22));
      assert.equal(r.disk.armMisdirectedWrite(), true);
      assert.equal(r.disk.armMisdirectedWrite(), false);
      await writeAndClose(r.fs, '/f', 4096, bytes(512, 0x33));
      const f = r.disk.peekFile('/f')!;
      assert.ok(f.subarray(4096, 4608).every((b) => b === 0x22), 'the intended sectors keep their old bytes');
      if (f.includes(0x33)) sameFile++;
      if (r.disk.peekFile('/other')!.includes(0x33)) otherFile++;
      assert.equal(r.disk.stats.faultsInjected.misdirectedWrite, 1);
      await writeAndClose(r.fs, '/f', 0, bytes(512, 0x44));
      assert.ok(r.disk.peekFile('/f')!.subarray(0, 512).every((b) => b === 0x44), 'later writes are normal');
      assert.equal(r.disk.armMisdirectedWrite(), false);
    }
    assert.ok(sameFile > 0 && otherFile > 0, `same ${sameFile} other ${otherFile}`);
  });
});

function popcount(n: number): number {
  let count = 0;
  for (let v = n; v !== 0; v &= v - 1) count++;
  return count;
}

// ---- process death, drive replacement, digests ---------------------------------------------------

describe('sim-disk: gates, drive replacement and digests', () => {
  it("a dead gate's calls never settle and change nothing", async () => {
    const { fs, gate, disk } = rig();
    await fs.writeFile('/f', text('f'));
    const h = await fs.open('/f', 'readWrite');
    gate.kill();
    const before = disk.digest();
    assert.equal(await settledOrPending(fs.readFile('/f')), 'pending');
    assert.equal(await settledOrPending(h.write(0, text('zz'))), 'pending');
    assert.equal(await settledOrPending(fs.unlink('/nope')), 'pending', 'not even errors are delivered');
    assert.equal(disk.digest(), before);
  });

  it('an operation in flight when the process dies is never applied', async () => {
    const disk = new SimDisk('d0', new TestRandom(1));
    const gate = new TestGate();
    const sched = new HeldScheduler();
    const fs = disk.view(gate, sched);
    const pending = fs.writeFile('/f', text('late'));
    gate.kill();
    sched.releaseAll();
    assert.equal(await settledOrPending(pending), 'pending');
    assert.equal(disk.peekFile('/f'), null);
    assert.deepEqual(sched.labels, ['d0.writeFile /f']);
  });

  it('replaceWithEmpty loses every file and folder, synced or not', async () => {
    const r = rig();
    await r.fs.mkdir('/db');
    await r.fs.syncDir('/');
    await durableFile(r.fs, '/db/f', text('f'));
    const h = await r.fs.open('/db/f', 'read');
    r.disk.replaceWithEmpty();
    assert.deepEqual(await r.fs.readdir('/'), []);
    assert.deepEqual(r.disk.listTree('/'), []);
    await rejectsWith(h.read(0, 1), 'EIO', '/db/f');
    powerCycle(r);
    assert.deepEqual(await r.fs.readdir('/'), []);
    await durableFile(r.fs, '/new', text('n')); // the new drive works
    assert.equal(str(await r.fs.readFile('/new')), 'n');
  });

  it('folder devices: offline by prefix, wiped for good, rot at rest (sim/folder-device.ts)', async () => {
    const r = rig();
    for (const dir of ['/ec', '/ec/d0', '/ec/d1', '/ec/d10']) await r.fs.mkdir(dir);
    await r.fs.syncDir('/');
    await r.fs.syncDir('/ec');
    await durableFile(r.fs, '/ec/d0/a', text('aaaa'));
    await durableFile(r.fs, '/ec/d1/b', text('bbbb'));
    await durableFile(r.fs, '/ec/d10/c', text('cccc'));
    const d1 = new FolderDevice(r.disk, '/ec/d1');
    const h = await r.fs.open('/ec/d1/b', 'read');
    d1.offline = true;
    await rejectsWith(r.fs.readFile('/ec/d1/b'), 'EIO', '/ec/d1/b');
    await rejectsWith(r.fs.rename('/ec/d0/a', '/ec/d1/a'), 'EIO', '/ec/d1/a');
    await rejectsWith(h.read(0, 1), 'EIO', '/ec/d1/b');
    assert.equal(str(await r.fs.readFile('/ec/d10/c')), 'cccc', 'a prefix is a folder, not a string prefix');
    assert.equal(str(await r.fs.readFile('/ec/d0/a')), 'aaaa');
    d1.offline = false;
    assert.equal(str(await h.read(0, 4)), 'bbbb');
    d1.wipe();
    await rejectsWith(h.read(0, 1), 'EIO', '/ec/d1/b');
    assert.deepEqual(await r.fs.readdir('/ec/d1'), []);
    assert.deepEqual(d1.files(), []);
    powerCycle(r);
    assert.deepEqual(await r.fs.readdir('/ec/d1'), [], 'a wipe is durable');
    assert.deepEqual(await r.fs.readdir('/ec'), ['d0', 'd1', 'd10']);
    const d0 = new FolderDevice(r.disk, '/ec/d0');
    assert.equal(d0.rot('/ec/d1/x'), false);
    assert.ok(d0.rot('/ec/d0/a', 2));
    assert.notEqual(str(await r.fs.readFile('/ec/d0/a')), 'aaaa');
    powerCycle(r);
    assert.notEqual(str(await r.fs.readFile('/ec/d0/a')), 'aaaa', 'rot is at rest');
  });

  it('digest: equal for the same seed and calls, different after any change', async () => {
    const run = async (seed: number): Promise<Rig> => {
      const r = rig(seed);
      await r.fs.mkdir('/a');
      await durableFile(r.fs, '/a/f', bytes(3000, 1));
      await writeAndClose(r.fs, '/a/f', 200, bytes(2000, 2));
      await r.fs.writeFile('/a/g', text('g'));
      powerCycle(r);
      await r.fs.writeFile('/h', text('h'));
      return r;
    };
    const [x, y] = [await run(9), await run(9)];
    assert.equal(x.disk.digest(), y.disk.digest());
    assert.match(x.disk.digest(), /^[0-9a-f]{64}$/);
    const before = y.disk.digest();
    await y.fs.syncDir('/');
    assert.notEqual(y.disk.digest(), before, 'making an entry durable changes the digest');
    const beforeWrite = x.disk.digest();
    await writeAndClose(x.fs, '/h', 0, text('H'));
    assert.notEqual(x.disk.digest(), beforeWrite);
  });

  it('counts reads, writes, syncs and directory syncs', async () => {
    const { fs, disk } = rig();
    const h = await fs.open('/f', 'create');
    await h.write(0, text('a'));
    await h.truncate(1);
    await fs.writeFile('/g', text('g'));
    await h.read(0, 1);
    await fs.readFile('/g');
    await h.datasync();
    await h.sync();
    await fs.syncDir('/');
    assert.deepEqual(disk.stats, { reads: 2, writes: 3, syncs: 2, dirSyncs: 1, faultsInjected: {} });
  });

  it('inode collection under churn keeps open, live and durably linked files', async () => {
    const r = rig();
    await durableFile(r.fs, '/durable', text('d'));
    await r.fs.unlink('/durable'); // only its durable entry still reaches it
    await r.fs.writeFile('/victim', text('open'));
    const h = await r.fs.open('/victim', 'read');
    await r.fs.unlink('/victim'); // only the open handle still reaches it
    for (let i = 0; i < 2000; i++) {
      await r.fs.writeFile(`/tmp${i % 3}`, bytes(100, i & 0xff));
      await r.fs.rename(`/tmp${i % 3}`, '/cur');
    }
    assert.deepEqual(await r.fs.readdir('/'), ['cur']);
    assert.equal(str(await h.read(0, 10)), 'open');
    powerCycle(r);
    assert.deepEqual(await r.fs.readdir('/'), ['durable']);
    assert.equal(str(await r.fs.readFile('/durable')), 'd');
  });
});
