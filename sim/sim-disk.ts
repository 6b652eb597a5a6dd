/**
 * SimDisk: an in-memory drive that reproduces what a power loss can do to data that was not
 * synced (POSIX worst case), plus injectable faults.
 *
 * Model:
 * - A file inode has durable bytes (as of its last successful sync/datasync) and the ordered
 *   list of writes/truncates since then; reads see durable + pending (the page cache).
 * - A directory has current entries and durable entries (as of its last syncDir). Creating,
 *   renaming or unlinking an entry is volatile until that parent directory is synced.
 * - crash(): every directory reverts to its durable entries, inodes no durable entry reaches
 *   are lost, and each pending op of a surviving file is resolved by the PRNG (CRASH_MODEL):
 *   a write lands whole, vanishes, or is torn at 512-byte file offsets; a truncate lands or not.
 *
 * Each call of a view awaits `sched.complete(label)` and only then, if the process is alive,
 * applies atomically (faults are drawn at that moment). A dead process's calls never settle.
 */
import type { FileHandle, FileLock, FileStat, FileSystem, LockRefused, OpenMode } from '../src/ports/file-system.js';
import type { Gate, IoScheduler, SimRandom } from './types.js';
import { DiskCore, type DiskFaults, type DiskStats, type HandleState } from './sim-disk-core.js';

export type { DiskFaults, DiskStats } from './sim-disk-core.js';
export { CRASH_MODEL } from './sim-disk-tree.js';

/** One holder of an advisory lock: held while its process incarnation lives and it is not released. */
interface LockEntry {
  readonly gate: Gate;
  readonly mode: 'exclusive' | 'shared';
  released: boolean;
}

export class SimDisk {
  private readonly core: DiskCore;
  /** Advisory locks by path (FileSystem.lock): a crash kills the holders' gates, which frees them. */
  private readonly locks = new Map<string, LockEntry[]>();
  /** Bumped by every event that changes files without a call (crash, replacement): part of fileStamp. */
  private epoch = 0;

  constructor(name: string, random: SimRandom) {
    this.core = new DiskCore(name, random);
  }

  get name(): string {
    return this.core.name;
  }

  /** Read at every call's completion, so the simulator may change it at any time. */
  get faults(): DiskFaults {
    return this.core.faults;
  }

  set faults(faults: DiskFaults) {
    this.core.faults = faults;
  }

  get stats(): DiskStats {
    return this.core.stats;
  }

  /** A FileSystem for one process incarnation. */
  view(gate: Gate, sched: IoScheduler): FileSystem {
    return new SimDiskView(new Runner(this.core, gate, sched), this.locks);
  }

  /** Power loss. Handles opened before it fail with EBADF (their gates should be dead anyway). */
  crash(): void {
    this.epoch++;
    this.core.crash();
  }

  /** At most once per disk: the next non-empty write goes to a wrong place. False if already used. */
  armMisdirectedWrite(): boolean {
    return this.core.armMisdirectedWrite();
  }

  /** Whole-drive loss: an empty drive with a durable root. Older handles fail with EIO. */
  replaceWithEmpty(): void {
    this.epoch++;
    this.core.replaceWithEmpty();
  }

  /** The device mounted at folder `prefix` is replaced by an empty one (see DiskCore.wipe). */
  wipe(prefix: string): void {
    this.core.wipe(prefix);
  }

  /** Flips bits of `count` stored bytes of a file (rot at rest); false when no such non-empty file. */
  rot(path: string, count = 1): boolean {
    return this.core.rot(path, count);
  }

  /** sha256 (hex) of the durable and volatile state. */
  digest(): string {
    return this.core.tree.digest();
  }

  /** Current (page-cache) bytes of a file, without faults or scheduling; null if not a file. */
  peekFile(path: string): Uint8Array | null {
    const node = this.core.tree.findQuietly(path);
    return node?.kind === 'file' ? node.current.snapshot() : null;
  }

  /** Changes whenever the file's page-cache bytes change, except by rot(); null if not a file. */
  fileStamp(path: string): string | null {
    const node = this.core.tree.findQuietly(path);
    return node?.kind === 'file' ? `${this.epoch}.${node.id}.${node.mtime}.${node.current.size}` : null;
  }

  /** Whether the file at `path` survives a power loss with the bytes it reads now (durable entries, no unsynced writes). */
  settledFile(path: string): boolean {
    return this.core.tree.settled(path);
  }

  /** Sorted absolute paths of the files at or under `path` (current entries; no directories). */
  listTree(path: string): string[] {
    return this.core.tree.listTree(path);
  }
}

/** Schedules a call, then applies it only if the process is still alive. */
class Runner {
  constructor(
    readonly core: DiskCore,
    readonly gate: Gate,
    private readonly sched: IoScheduler,
  ) {}

  async run<T>(op: string, path: string, apply: () => T): Promise<T> {
    await this.sched.complete(`${this.core.name}.${op} ${path}`);
    if (!this.gate.alive()) return this.gate.hang<T>();
    return apply();
  }

  /**
   * A blocking call: applied at once, without the scheduler (no latency, no crash draw of its
   * own), if the process is alive. A dead process's blocking call cannot hang: it does nothing
   * and throws (EIO), and its next scheduled call hangs.
   */
  runBlocking(op: string, path: string, apply: () => void): void {
    if (!this.gate.alive()) throw Object.assign(new Error(`EIO: ${op} '${path}' by a process that is gone`), { code: 'EIO', syscall: op, path });
    apply();
  }
}

class SimDiskView implements FileSystem {
  constructor(
    private readonly r: Runner,
    private readonly locks: Map<string, LockEntry[]>,
  ) {}

  /** As flock: the file is created (and an exclusive holder's owner text written), held until released or the process dies. */
  lock(path: string, mode: 'exclusive' | 'shared', owner: string): Promise<FileLock | LockRefused> {
    return this.r.run('lock', path, () => {
      const held = (this.locks.get(path) ?? []).filter((e) => !e.released && e.gate.alive());
      const handle = this.r.core.open(path, 'create');
      if (held.some((e) => mode === 'exclusive' || e.mode === 'exclusive')) {
        const heldBy = new TextDecoder().decode(this.r.core.read(handle, 0, 4096)).trim();
        this.r.core.close(handle);
        return { heldBy };
      }
      if (mode === 'exclusive') {
        this.r.core.truncate(handle, 0);
        this.r.core.write(handle, 0, new TextEncoder().encode(owner));
      }
      this.r.core.close(handle);
      const entry: LockEntry = { gate: this.r.gate, mode, released: false };
      this.locks.set(path, [...held, entry]);
      return { release: async () => void (entry.released = true) };
    });
  }

  open(path: string, mode: OpenMode): Promise<FileHandle> {
    return this.r.run('open', path, () => new SimFileHandle(this.r, this.r.core.open(path, mode)));
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.r.run('readFile', path, () => this.r.core.readFile(path));
  }

  /** `data` is copied at completion, so changing it while the call is in flight is visible (as with real I/O). */
  writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.r.run('writeFile', path, () => this.r.core.writeFile(path, data));
  }

  rename(from: string, to: string): Promise<void> {
    return this.r.run('rename', `${from} -> ${to}`, () => this.r.core.rename(from, to));
  }

  link(existing: string, to: string): Promise<void> {
    return this.r.run('link', `${existing} -> ${to}`, () => this.r.core.link(existing, to));
  }

  unlink(path: string): Promise<void> {
    return this.r.run('unlink', path, () => this.r.core.unlink(path));
  }

  mkdir(path: string): Promise<void> {
    return this.r.run('mkdir', path, () => this.r.core.mkdir(path));
  }

  removeTree(path: string): Promise<void> {
    return this.r.run('removeTree', path, () => this.r.core.removeTree(path));
  }

  readdir(path: string): Promise<string[]> {
    return this.r.run('readdir', path, () => this.r.core.readdir(path));
  }

  stat(path: string): Promise<FileStat | null> {
    return this.r.run('stat', path, () => this.r.core.stat(path));
  }

  syncDir(path: string): Promise<void> {
    return this.r.run('syncDir', path, () => this.r.core.syncDir(path));
  }
}

class SimFileHandle implements FileHandle {
  constructor(
    private readonly r: Runner,
    private readonly h: HandleState,
  ) {}

  read(position: number, length: number): Promise<Uint8Array> {
    return this.r.run('read', this.h.path, () => this.r.core.read(this.h, position, length));
  }

  write(position: number, data: Uint8Array): Promise<void> {
    return this.r.run('write', this.h.path, () => this.r.core.write(this.h, position, data));
  }

  datasync(): Promise<void> {
    return this.r.run('datasync', this.h.path, () => this.r.core.sync(this.h, 'fdatasync'));
  }

  /** write + datasync as one blocking step (FileHandle.writeAndSyncBlocking): the same checks, faults and effects, unscheduled. */
  writeAndSyncBlocking(position: number, data: Uint8Array): void {
    this.r.runBlocking('writeAndSyncBlocking', this.h.path, () => {
      this.r.core.write(this.h, position, data);
      this.r.core.sync(this.h, 'fdatasync');
    });
  }

  sync(): Promise<void> {
    return this.r.run('sync', this.h.path, () => this.r.core.sync(this.h, 'fsync'));
  }

  truncate(size: number): Promise<void> {
    return this.r.run('truncate', this.h.path, () => this.r.core.truncate(this.h, size));
  }

  size(): Promise<number> {
    return this.r.run('size', this.h.path, () => this.r.core.size(this.h));
  }

  close(): Promise<void> {
    return this.r.run('close', this.h.path, () => this.r.core.close(this.h));
  }
}
