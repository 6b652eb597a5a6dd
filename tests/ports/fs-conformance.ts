/**
 * One conformance suite for the FileSystem port (src/ports/file-system.ts), run against every
 * implementation: the real node:fs adapter, the simulator's disk, and the two decorators (fault
 * injection with no faults, replication over two roots in sync) over each. The port's doc
 * comments are the contract; POSIX is the reference where they say "POSIX name".
 *
 * Each target supplies a Harness. What a target cannot do is not skipped: the case's name says
 * so and it asserts the target's documented behaviour instead (the replicated decorator leaves
 * `writeAndSyncBlocking` out, so callers fall back to write + datasync; only the simulated disk
 * can cut the power). A divergence from POSIX that is known and reported is declared by the
 * target (`divergences`) and pinned: the case asserts it, so fixing it fails the case until the
 * declaration goes.
 */
import assert from 'node:assert/strict';
import type { FileLock, FileSystem, LockRefused } from '../../src/ports/file-system.js';

/** Another process on the same storage: its locks conflict with this one's and end with it. */
export interface Peer {
  /** Takes a lock in that process: true when held, else the refusal. */
  lock(path: string, mode: 'exclusive' | 'shared', owner: string): Promise<true | LockRefused>;
  /** The process is killed (no release): its locks must go with it. */
  kill(): Promise<void>;
}

export interface Harness {
  readonly fs: FileSystem;
  /** An empty directory (absolute, existing) the cases work in. */
  readonly root: string;
  /** Starts another process on the same storage, or null (the target says why). */
  readonly peer: (() => Promise<Peer>) | null;
  /** Cuts the power and starts a new process; resolves to its FileSystem. Null: the target says why. */
  readonly powerLoss: (() => Promise<FileSystem>) | null;
  /** After each case: what must hold about state the port does not show (both replicas equal). */
  check?(): Promise<void>;
  close(): Promise<void>;
}

export interface FsTarget {
  name: string;
  setup(): Promise<Harness>;
  /** Handles have `writeAndSyncBlocking` (true), or why they leave it out. */
  blocking: true | { absent: string };
  /** Why there is no other process here (when `peer` is null). */
  noPeerReason?: string;
  /** Why the power cannot be cut here (when `powerLoss` is null). */
  noPowerLossReason?: string;
  /** Known, reported divergences from POSIX, pinned (see the file comment). */
  divergences?: {
    /** The code of `mkdir` on a path that is a file (POSIX: EEXIST). */
    mkdirOverFile?: string;
  };
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const pattern = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + 1) & 0xff);

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

/** Rejects with an Error whose `code` is the POSIX name (one of `codes`). */
async function rejectsWith(promise: Promise<unknown>, ...codes: string[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof Error, `an Error, got ${String(error)}`);
    assert.ok(codes.includes(codeOf(error) as string), `code ${String(codeOf(error))}, expected ${codes.join(' or ')} (${error.message})`);
    return true;
  });
}

/** Throws synchronously with an Error whose `code` is one of `codes`. */
function throwsWith(run: () => void, ...codes: string[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.ok(codes.includes(codeOf(error) as string), `code ${String(codeOf(error))}, expected ${codes.join(' or ')}`);
    return true;
  });
}

function isHeld(got: FileLock | LockRefused): got is FileLock {
  return !('heldBy' in got);
}

/**
 * Names in an order no implementation keeps by accident: not creation order, with case,
 * digits, a prefix of another name, and a name past the BMP (a surrogate pair sorts below
 * U+FF5E by code unit, above it by code point and by UTF-8 bytes: libuv's scandir order, which
 * node:fs returns).
 */
const NAMES = ['b', 'B', 'a10', 'a9', 'a', '\uff5e', '\u{1f600}', 'é', 'ab', 'A', '_x', '0', 'z.tmp', 'aa', '-', 'Z'];

export function fsConformance(target: FsTarget): void {
  describe(`FileSystem conformance: ${target.name}`, function () {
    let h: Harness;
    let fs: FileSystem;
    let root: string;
    const at = (...parts: string[]): string => [root, ...parts].join('/');

    beforeEach(async function () {
      this.timeout(30_000);
      h = await target.setup();
      fs = h.fs;
      root = h.root;
    });
    afterEach(async () => {
      try {
        await h?.check?.();
      } finally {
        await h?.close();
      }
    });

    async function writeNew(path: string, data: Uint8Array): Promise<void> {
      const f = await fs.open(path, 'createNew');
      await f.write(0, data);
      await f.close();
    }

    describe('open modes', () => {
      it("'read' and 'readWrite' on a missing file reject ENOENT and create nothing", async () => {
        await rejectsWith(fs.open(at('missing'), 'read'), 'ENOENT');
        await rejectsWith(fs.open(at('missing'), 'readWrite'), 'ENOENT');
        assert.equal(await fs.stat(at('missing')), null);
      });

      it("'create' makes a missing file empty, and opens an existing one without truncating it", async () => {
        const f = await fs.open(at('c'), 'create');
        assert.equal(await f.size(), 0);
        await f.write(0, enc('kept'));
        await f.close();
        const again = await fs.open(at('c'), 'create');
        assert.equal(dec(await again.read(0, 100)), 'kept');
        await again.close();
        assert.equal((await fs.stat(at('c')))!.size, 4);
      });

      it("'createNew' creates a missing file, and rejects EEXIST on an existing one, leaving it as it was", async () => {
        await writeNew(at('n'), enc('first'));
        await rejectsWith(fs.open(at('n'), 'createNew'), 'EEXIST');
        assert.equal(dec(await fs.readFile(at('n'))), 'first');
      });

      it("'create' in a missing directory rejects ENOENT", async () => {
        await rejectsWith(fs.open(at('no-dir', 'f'), 'create'), 'ENOENT');
        await rejectsWith(fs.open(at('no-dir', 'f'), 'createNew'), 'ENOENT');
        assert.equal(await fs.stat(at('no-dir')), null);
      });

      it('opening a directory for writing rejects EISDIR', async () => {
        await fs.mkdir(at('d'));
        await rejectsWith(fs.open(at('d'), 'readWrite'), 'EISDIR');
        await rejectsWith(fs.open(at('d'), 'create'), 'EISDIR');
      });

      it("a 'read' handle reads, syncs, and refuses write (EBADF) and truncate (EBADF or EINVAL, both POSIX) without changing the file", async () => {
        await writeNew(at('r'), enc('abc'));
        const f = await fs.open(at('r'), 'read');
        assert.equal(dec(await f.read(0, 3)), 'abc');
        await f.sync();
        await f.datasync();
        await rejectsWith(f.write(0, enc('x')), 'EBADF');
        await rejectsWith(f.truncate(0), 'EBADF', 'EINVAL');
        if (f.writeAndSyncBlocking) throwsWith(() => f.writeAndSyncBlocking!(0, enc('y')), 'EBADF');
        await f.close();
        assert.equal(dec(await fs.readFile(at('r'))), 'abc');
      });

      it('a closed handle rejects reads and writes with EBADF', async () => {
        await writeNew(at('closed'), enc('abc'));
        const f = await fs.open(at('closed'), 'readWrite');
        await f.close();
        await rejectsWith(f.read(0, 1), 'EBADF');
        await rejectsWith(f.write(0, enc('x')), 'EBADF');
        assert.equal(dec(await fs.readFile(at('closed'))), 'abc');
      });

      it('two handles of one file see each other’s writes (one page cache)', async () => {
        const a = await fs.open(at('shared'), 'create');
        const b = await fs.open(at('shared'), 'readWrite');
        await a.write(0, enc('hello'));
        assert.equal(dec(await b.read(0, 10)), 'hello');
        await b.write(5, enc('!'));
        assert.equal(await a.size(), 6);
        await a.close();
        await b.close();
      });
    });

    describe('read, write, truncate, size, sync', () => {
      it('read is short at EOF, empty at and past it', async () => {
        await writeNew(at('f'), pattern(10, 1));
        const f = await fs.open(at('f'), 'read');
        assert.deepEqual(await f.read(0, 10), pattern(10, 1));
        assert.deepEqual(await f.read(6, 100), pattern(10, 1).subarray(6));
        assert.equal((await f.read(10, 4)).length, 0);
        assert.equal((await f.read(500, 4)).length, 0);
        assert.equal((await f.read(3, 0)).length, 0);
        await f.close();
      });

      it('write at offsets overwrites in place; past EOF leaves a hole of zeros; size follows', async () => {
        const f = await fs.open(at('w'), 'createNew');
        await f.write(0, enc('0123456789'));
        await f.write(3, enc('abc'));
        assert.equal(dec(await f.read(0, 10)), '012abc6789');
        assert.equal(await f.size(), 10);
        await f.write(20, bytes(7, 8));
        assert.equal(await f.size(), 22);
        assert.deepEqual(await f.read(8, 14), Uint8Array.from([56, 57, ...new Array(10).fill(0), 7, 8]));
        await f.write(40, new Uint8Array(0));
        assert.equal(await f.size(), 22, 'a write of no bytes does not extend the file');
        await f.close();
        assert.equal((await fs.stat(at('w')))!.size, 22);
      });

      it('a large write lands whole (4 MiB, several pages)', async () => {
        const big = pattern(4 * 1024 * 1024 + 3, 5);
        const f = await fs.open(at('big'), 'createNew');
        await f.write(1, big);
        assert.equal(await f.size(), big.length + 1);
        assert.deepEqual((await f.read(1, big.length)).subarray(0, 4096), big.subarray(0, 4096));
        assert.deepEqual(await fs.readFile(at('big')), Uint8Array.from([0, ...big]));
        await f.close();
      });

      it('the caller may reuse its buffer once write resolved', async () => {
        const buffer = enc('before');
        const f = await fs.open(at('buf'), 'createNew');
        await f.write(0, buffer);
        buffer.fill(0x21);
        assert.equal(dec(await f.read(0, 6)), 'before');
        await f.close();
      });

      it('truncate shrinks, and extends with zeros', async () => {
        const f = await fs.open(at('t'), 'createNew');
        await f.write(0, enc('abcdef'));
        await f.truncate(2);
        assert.equal(await f.size(), 2);
        assert.equal(dec(await f.read(0, 10)), 'ab');
        await f.truncate(5);
        assert.deepEqual(await f.read(0, 10), bytes(97, 98, 0, 0, 0));
        await f.truncate(0);
        assert.equal(await f.size(), 0);
        await f.close();
        assert.equal((await fs.stat(at('t')))!.size, 0);
      });

      it('datasync and sync resolve and change nothing the handle reads', async () => {
        const f = await fs.open(at('s'), 'createNew');
        await f.write(0, enc('synced'));
        await f.datasync();
        await f.sync();
        assert.equal(dec(await f.read(0, 100)), 'synced');
        await f.close();
        await fs.syncDir(root);
        assert.equal(dec(await fs.readFile(at('s'))), 'synced');
      });
    });

    describe('writeAndSyncBlocking (optional)', () => {
      if (target.blocking === true) {
        it('present, and equivalent to write + datasync: same bytes and size at every offset, past EOF included', async () => {
          const fast = await fs.open(at('fast'), 'createNew');
          const slow = await fs.open(at('slow'), 'createNew');
          assert.equal(typeof fast.writeAndSyncBlocking, 'function');
          const steps: Array<[number, Uint8Array]> = [
            [0, pattern(100, 1)],
            [50, pattern(10, 2)],
            [300, pattern(7, 3)],
            [0, new Uint8Array(0)],
            [1000, new Uint8Array(0)],
            [8191, pattern(8200, 4)],
          ];
          for (const [position, data] of steps) {
            const result = fast.writeAndSyncBlocking!(position, data);
            assert.equal(result, undefined, 'returns nothing: it is done when it returns');
            await slow.write(position, data);
            await slow.datasync();
            assert.equal(await fast.size(), await slow.size(), `size after a write of ${data.length} at ${position}`);
          }
          assert.deepEqual(await fast.read(0, 20_000), await slow.read(0, 20_000));
          await fast.close();
          await slow.close();
          assert.deepEqual(await fs.readFile(at('fast')), await fs.readFile(at('slow')));
        });

        it('visible at once to the same and to other handles (it has happened when the call returns)', async () => {
          const f = await fs.open(at('now'), 'createNew');
          const other = await fs.open(at('now'), 'read');
          f.writeAndSyncBlocking!(2, enc('xy'));
          assert.deepEqual(await other.read(0, 10), bytes(0, 0, 120, 121));
          await f.close();
          await other.close();
        });
      } else {
        const reason = target.blocking.absent;
        it(`absent (${reason}): handles leave it out, callers use write + datasync`, async () => {
          const f = await fs.open(at('none'), 'createNew');
          assert.equal(f.writeAndSyncBlocking, undefined);
          await f.close();
        });
      }
    });

    describe('whole files', () => {
      it('readFile of a missing file rejects ENOENT, of a directory EISDIR', async () => {
        await rejectsWith(fs.readFile(at('missing')), 'ENOENT');
        await fs.mkdir(at('d'));
        await rejectsWith(fs.readFile(at('d')), 'EISDIR');
      });

      it('writeFile creates, then replaces the whole file (a shorter write leaves nothing behind)', async () => {
        await fs.writeFile(at('wf'), enc('a longer first version'));
        assert.equal(dec(await fs.readFile(at('wf'))), 'a longer first version');
        await fs.writeFile(at('wf'), enc('short'));
        assert.equal(dec(await fs.readFile(at('wf'))), 'short');
        assert.equal((await fs.stat(at('wf')))!.size, 5);
        await fs.writeFile(at('empty'), new Uint8Array(0));
        assert.equal((await fs.readFile(at('empty'))).length, 0);
      });

      it('writeFile into a missing directory rejects ENOENT, onto a directory EISDIR', async () => {
        await rejectsWith(fs.writeFile(at('no-dir', 'f'), enc('x')), 'ENOENT');
        await fs.mkdir(at('d'));
        await rejectsWith(fs.writeFile(at('d'), enc('x')), 'EISDIR');
      });
    });

    describe('names: rename, unlink, mkdir, removeTree', () => {
      it('rename over an existing file replaces it atomically (one name, the new bytes)', async () => {
        await fs.writeFile(at('new'), enc('new bytes'));
        await fs.writeFile(at('old'), enc('old bytes, longer'));
        await fs.rename(at('new'), at('old'));
        assert.equal(await fs.stat(at('new')), null);
        assert.equal(dec(await fs.readFile(at('old'))), 'new bytes');
        assert.deepEqual(await fs.readdir(root), ['old']);
      });

      it('rename into another directory, and of a directory with its contents', async () => {
        await fs.mkdir(at('x', 'y'));
        await fs.mkdir(at('other'));
        await fs.writeFile(at('x', 'y', 'f'), enc('deep'));
        await fs.rename(at('x', 'y', 'f'), at('other', 'g'));
        assert.equal(dec(await fs.readFile(at('other', 'g'))), 'deep');
        assert.deepEqual(await fs.readdir(at('x', 'y')), []);
        await fs.rename(at('other'), at('x', 'moved'));
        assert.equal(dec(await fs.readFile(at('x', 'moved', 'g'))), 'deep');
        assert.equal(await fs.stat(at('other')), null);
      });

      it('rename of a missing file, or into a missing directory, rejects ENOENT; a file onto a directory EISDIR', async () => {
        await rejectsWith(fs.rename(at('missing'), at('to')), 'ENOENT');
        await fs.writeFile(at('f'), enc('f'));
        await rejectsWith(fs.rename(at('f'), at('no-dir', 'f')), 'ENOENT');
        await fs.mkdir(at('d'));
        await rejectsWith(fs.rename(at('f'), at('d')), 'EISDIR');
        assert.equal(dec(await fs.readFile(at('f'))), 'f');
      });

      it('rename keeps an open handle working on the file under its new name', async () => {
        const f = await fs.open(at('h1'), 'createNew');
        await f.write(0, enc('one'));
        await fs.rename(at('h1'), at('h2'));
        await f.write(3, enc('two'));
        await f.close();
        assert.equal(dec(await fs.readFile(at('h2'))), 'onetwo');
      });

      it('link gives a file a second name with the same bytes; it never replaces: EEXIST, and ENOENT for a missing file or directory', async () => {
        await fs.writeFile(at('owner.new'), enc('owner text'));
        await fs.link(at('owner.new'), at('claim'));
        assert.equal(dec(await fs.readFile(at('claim'))), 'owner text');
        await fs.unlink(at('owner.new'));
        assert.equal(dec(await fs.readFile(at('claim'))), 'owner text', 'the second name outlives the first');
        await fs.writeFile(at('other.new'), enc('someone else'));
        await rejectsWith(fs.link(at('other.new'), at('claim')), 'EEXIST');
        assert.equal(dec(await fs.readFile(at('claim'))), 'owner text', 'an existing name is never replaced');
        await rejectsWith(fs.link(at('missing'), at('claim2')), 'ENOENT');
        await rejectsWith(fs.link(at('other.new'), at('no-dir', 'claim')), 'ENOENT');
        assert.deepEqual(await fs.readdir(root), ['claim', 'other.new']);
      });

      it('unlink removes a file; a missing one rejects ENOENT, a directory EISDIR (Linux)', async () => {
        await fs.writeFile(at('u'), enc('u'));
        await fs.unlink(at('u'));
        assert.equal(await fs.stat(at('u')), null);
        await rejectsWith(fs.unlink(at('u')), 'ENOENT');
        await fs.mkdir(at('d'));
        await rejectsWith(fs.unlink(at('d')), 'EISDIR');
        assert.equal((await fs.stat(at('d')))!.isDirectory, true);
      });

      it('mkdir creates the parents; an existing directory is no error', async () => {
        await fs.mkdir(at('p', 'q', 'r'));
        assert.equal((await fs.stat(at('p', 'q', 'r')))!.isDirectory, true);
        await fs.mkdir(at('p', 'q', 'r'));
        await fs.mkdir(at('p'));
        assert.deepEqual(await fs.readdir(at('p')), ['q']);
      });

      const mkdirOverFile = target.divergences?.mkdirOverFile ?? 'EEXIST';
      it(`mkdir on a file rejects ${mkdirOverFile}${mkdirOverFile === 'EEXIST' ? '' : ' (a reported divergence: POSIX says EEXIST)'}; under a file ENOTDIR`, async () => {
        await fs.writeFile(at('file'), enc('x'));
        await rejectsWith(fs.mkdir(at('file')), mkdirOverFile);
        await rejectsWith(fs.mkdir(at('file', 'sub')), 'ENOTDIR');
        assert.equal((await fs.stat(at('file')))!.isFile, true);
      });

      it('removeTree removes a whole tree; a missing path is no error', async () => {
        await fs.mkdir(at('tree', 'a', 'b'));
        await fs.writeFile(at('tree', 'a', 'b', 'f'), enc('f'));
        await fs.writeFile(at('tree', 'g'), enc('g'));
        await fs.removeTree(at('tree'));
        assert.equal(await fs.stat(at('tree')), null);
        await fs.removeTree(at('tree'));
        await fs.removeTree(at('never', 'was'));
        assert.deepEqual(await fs.readdir(root), []);
      });
    });

    describe('readdir, stat, syncDir', () => {
      it('readdir lists files and directories (no . or ..), sorted by UTF-16 code unit', async () => {
        const made: string[] = [];
        for (const [i, name] of NAMES.entries()) {
          if (i % 4 === 1) await fs.mkdir(at(name));
          else await fs.writeFile(at(name), enc(name));
          made.push(name);
        }
        const sorted = [...made].sort();
        assert.notDeepEqual(made, sorted, 'created out of order');
        assert.ok(sorted.indexOf('\u{1f600}') < sorted.indexOf('\uff5e'), 'code unit order, not code point order');
        assert.deepEqual(await fs.readdir(root), sorted);
      });

      it('readdir stays sorted over 300 entries, after unlinks and renames', async () => {
        await fs.mkdir(at('many'));
        const names = Array.from({ length: 300 }, (_, i) => `n${(i * 7919) % 300}`);
        for (const name of names) await fs.writeFile(at('many', name), new Uint8Array(0));
        assert.deepEqual(await fs.readdir(at('many')), [...names].sort());
        await fs.unlink(at('many', 'n5'));
        await fs.rename(at('many', 'n6'), at('many', 'n5a'));
        const expected = names.filter((n) => n !== 'n5' && n !== 'n6').concat('n5a').sort();
        assert.deepEqual(await fs.readdir(at('many')), expected);
      });

      it('readdir of a missing directory rejects ENOENT, of a file ENOTDIR', async () => {
        await rejectsWith(fs.readdir(at('missing')), 'ENOENT');
        await fs.writeFile(at('f'), enc('f'));
        await rejectsWith(fs.readdir(at('f')), 'ENOTDIR');
      });

      it('stat: null when missing; size, isFile and isDirectory; a path under a file rejects ENOTDIR', async () => {
        assert.equal(await fs.stat(at('missing')), null);
        assert.equal(await fs.stat(at('missing', 'deeper')), null);
        await fs.writeFile(at('f'), pattern(1234, 9));
        const file = (await fs.stat(at('f')))!;
        assert.equal(file.size, 1234);
        assert.equal(file.isFile, true);
        assert.equal(file.isDirectory, false);
        assert.equal(typeof file.mtimeMs, 'number');
        assert.ok(Number.isFinite(file.mtimeMs));
        await fs.mkdir(at('d'));
        const dir = (await fs.stat(at('d')))!;
        assert.equal(dir.isDirectory, true);
        assert.equal(dir.isFile, false);
        const self = (await fs.stat(root))!;
        assert.equal(self.isDirectory, true);
        await rejectsWith(fs.stat(at('f', 'x')), 'ENOTDIR');
      });

      it('syncDir resolves on a directory and rejects ENOENT on a missing one', async () => {
        await fs.mkdir(at('d'));
        await fs.writeFile(at('d', 'f'), enc('f'));
        await fs.syncDir(at('d'));
        await fs.syncDir(root);
        await rejectsWith(fs.syncDir(at('missing')), 'ENOENT');
      });
    });

    describe('lock', () => {
      it('an exclusive lock on a free path is held, creates the file and writes the owner text into it', async () => {
        const got = await fs.lock(at('x.lock'), 'exclusive', 'owner one');
        assert.ok(isHeld(got));
        assert.equal((await fs.stat(at('x.lock')))!.isFile, true);
        assert.equal(dec(await fs.readFile(at('x.lock'))), 'owner one');
        await got.release();
      });

      it('a second lock of one path in one process conflicts: exclusive refuses both modes and names its owner', async () => {
        const first = await fs.lock(at('x.lock'), 'exclusive', 'pid 1 on host (first)');
        assert.ok(isHeld(first));
        assert.deepEqual(await fs.lock(at('x.lock'), 'exclusive', 'second'), { heldBy: 'pid 1 on host (first)' });
        assert.deepEqual(await fs.lock(at('x.lock'), 'shared', 'third'), { heldBy: 'pid 1 on host (first)' });
        assert.equal(dec(await fs.readFile(at('x.lock'))), 'pid 1 on host (first)', 'a refused caller writes nothing');
        await first.release();
      });

      it("shared locks coexist; an exclusive one is refused while any is held (heldBy '' : shared holders write nothing)", async () => {
        const a = await fs.lock(at('s.lock'), 'shared', 'a');
        const b = await fs.lock(at('s.lock'), 'shared', 'b');
        assert.ok(isHeld(a) && isHeld(b));
        assert.deepEqual(await fs.lock(at('s.lock'), 'exclusive', 'c'), { heldBy: '' });
        await a.release();
        assert.deepEqual(await fs.lock(at('s.lock'), 'exclusive', 'c'), { heldBy: '' }, 'one shared holder is left');
        await b.release();
        const c = await fs.lock(at('s.lock'), 'exclusive', 'c');
        assert.ok(isHeld(c), 'free once every shared holder released');
        await c.release();
      });

      it('release frees the lock (idempotent); the next exclusive holder replaces the owner text', async () => {
        const first = await fs.lock(at('r.lock'), 'exclusive', 'a much longer first owner text');
        assert.ok(isHeld(first));
        await first.release();
        await first.release();
        const second = await fs.lock(at('r.lock'), 'exclusive', 'second');
        assert.ok(isHeld(second));
        assert.deepEqual(await fs.lock(at('r.lock'), 'exclusive', 'third'), { heldBy: 'second' });
        await first.release(); // a stale release of an earlier holder does not free the current one
        assert.deepEqual(await fs.lock(at('r.lock'), 'shared', 'third'), { heldBy: 'second' });
        await second.release();
      });

      it('locks of different paths are independent', async () => {
        const a = await fs.lock(at('a.lock'), 'exclusive', 'a');
        const b = await fs.lock(at('b.lock'), 'exclusive', 'b');
        assert.ok(isHeld(a) && isHeld(b));
        await a.release();
        await b.release();
      });

      it('lock in a missing directory rejects ENOENT', async () => {
        await rejectsWith(fs.lock(at('no-dir', 'x.lock'), 'exclusive', 'x'), 'ENOENT');
      });

      if (target.noPeerReason === undefined) {
        it("another process's lock conflicts the same way and names its owner; it goes when that process is killed, unreleased", async () => {
          const peer = await h.peer!();
          try {
            assert.equal(await peer.lock(at('p.lock'), 'exclusive', 'the peer'), true);
            assert.deepEqual(await fs.lock(at('p.lock'), 'exclusive', 'me'), { heldBy: 'the peer' });
            assert.deepEqual(await fs.lock(at('p.lock'), 'shared', 'me'), { heldBy: 'the peer' });
            const mine = await fs.lock(at('q.lock'), 'shared', 'me');
            assert.ok(isHeld(mine));
            assert.equal(await peer.lock(at('q.lock'), 'shared', 'the peer'), true, 'shared with another process');
            assert.deepEqual(await peer.lock(at('m.lock'), 'shared', 'the peer'), true);
            const ex = await fs.lock(at('m.lock'), 'exclusive', 'me');
            assert.deepEqual(ex, { heldBy: '' });
            await mine.release();
          } finally {
            await peer.kill();
          }
          const after = await fs.lock(at('p.lock'), 'exclusive', 'me');
          assert.ok(isHeld(after), "the killed process's lock is gone (no stale lock)");
          await after.release();
        });
      } else {
        it(`no other process here (${target.noPeerReason}): one process's two locks stand for two processes (asserted above)`, async () => {
          assert.equal(h.peer, null);
        });
      }
    });

    describe('durability across a power loss', () => {
      if (target.noPowerLossReason !== undefined) {
        it(`no power loss here (${target.noPowerLossReason}): synced data reads back through a new handle`, async () => {
          assert.equal(h.powerLoss, null);
          const f = await fs.open(at('d'), 'createNew');
          await f.write(0, enc('durable'));
          await f.datasync();
          await f.close();
          await fs.syncDir(root);
          const g = await fs.open(at('d'), 'read');
          assert.equal(dec(await g.read(0, 100)), 'durable');
          await g.close();
        });
        return;
      }

      it('a file written, datasynced and its directory synced survives with every byte; fsynced metadata (size) too', async () => {
        await fs.syncDir(root);
        const f = await fs.open(at('f'), 'createNew');
        await f.write(0, pattern(5000, 3));
        await f.datasync();
        await f.truncate(4000);
        await f.sync();
        await fs.syncDir(root);
        fs = await h.powerLoss!();
        assert.deepEqual(await fs.readFile(at('f')), pattern(5000, 3).subarray(0, 4000));
      });

      it('writeAndSyncBlocking is durable when it returns, like write + datasync', async () => {
        const f = await fs.open(at('b'), 'createNew');
        await f.sync();
        await fs.syncDir(root);
        assert.equal(typeof f.writeAndSyncBlocking, 'function');
        f.writeAndSyncBlocking!(0, pattern(3000, 8));
        f.writeAndSyncBlocking!(1000, enc('patched'));
        fs = await h.powerLoss!();
        const expected = pattern(3000, 8);
        expected.set(enc('patched'), 1000);
        assert.deepEqual(await fs.readFile(at('b')), expected);
      });

      it('a rename made durable by syncing both directories survives; the source name is gone', async () => {
        await fs.mkdir(at('src'));
        await fs.mkdir(at('dst'));
        await fs.syncDir(root);
        const f = await fs.open(at('src', 'f'), 'createNew');
        await f.write(0, enc('moved'));
        await f.datasync();
        await f.close();
        await fs.syncDir(at('src'));
        await fs.rename(at('src', 'f'), at('dst', 'f'));
        await fs.syncDir(at('dst'));
        await fs.syncDir(at('src'));
        fs = await h.powerLoss!();
        assert.equal(dec(await fs.readFile(at('dst', 'f'))), 'moved');
        assert.equal(await fs.stat(at('src', 'f')), null);
        assert.deepEqual(await fs.readdir(root), ['dst', 'src']);
      });

      it('an unlink made durable by syncDir stays; synced bytes are never lost to later unsynced writes elsewhere', async () => {
        await fs.writeFile(at('gone'), enc('x'));
        const keep = await fs.open(at('keep'), 'createNew');
        await keep.write(0, enc('kept'));
        await keep.datasync();
        await fs.syncDir(root);
        await fs.unlink(at('gone'));
        await fs.syncDir(root);
        await fs.writeFile(at('volatile'), pattern(2048, 1)); // neither it nor its entry synced: may or may not survive
        fs = await h.powerLoss!();
        assert.equal(await fs.stat(at('gone')), null);
        assert.equal(dec(await fs.readFile(at('keep'))), 'kept');
        const names = await fs.readdir(root);
        assert.ok(names.includes('keep') && !names.includes('gone'), names.join());
      });

      it("a power loss frees the dead process's locks", async () => {
        const held = await fs.lock(at('x.lock'), 'exclusive', 'before');
        assert.ok(isHeld(held));
        await fs.syncDir(root);
        fs = await h.powerLoss!();
        const after = await fs.lock(at('x.lock'), 'exclusive', 'after');
        assert.ok(isHeld(after));
        await after.release();
      });
    });
  });
}

