/**
 * SimDisk's operations as synchronous, atomic steps: argument and state checks, injected
 * faults, then the change to the inode model. The async, scheduled FileSystem view that calls
 * these lives in sim-disk.ts.
 */
import type { FileStat, OpenMode } from '../src/ports/file-system.js';
import type { SimRandom } from './types.js';
import { SECTOR } from './sim-disk-bytes.js';
import { DiskTree, fsError, type DirNode, type FileNode, type Node } from './sim-disk-tree.js';

export interface DiskFaults {
  /** Every call fails with EIO. Wins over every other fault. */
  offline?: boolean;
  /**
   * Folders whose device is offline: every call on a path at or under one of them fails with
   * EIO (a rename when either side is). A drive is a folder prefix (sim/folder-device.ts).
   */
  offlinePrefixes?: readonly string[];
  /** Probability a write, truncate or writeFile fails with EIO (nothing written). */
  eioWrite?: number;
  /** Probability datasync/sync/syncDir fails with EIO (nothing made durable by that call). */
  eioSync?: number;
  /** Writes that grow a file, file creations and mkdirs that create fail with ENOSPC. */
  enospc?: boolean;
  /** Probability a read/readFile fails with EIO (stored data untouched). */
  latentReadError?: number;
  /** Probability a read/readFile returns its data with one bit flipped (stored data untouched). */
  bitRot?: number;
}

export interface DiskStats {
  /** read + readFile calls that reached the disk (completed on a live gate). */
  reads: number;
  /** write + truncate + writeFile calls that reached the disk. */
  writes: number;
  /** datasync + sync calls that reached the disk. */
  syncs: number;
  /** syncDir calls that reached the disk. */
  dirSyncs: number;
  /** Per fault kind: offline, offlinePrefix, eioWrite, eioSync, enospc, latentReadError, bitRot, misdirectedWrite, wipe, rot. */
  faultsInjected: Record<string, number>;
}

/** Handles opened before a crash (EBADF) or a drive replacement (EIO) stop working. */
interface Generation {
  valid: boolean;
  code: 'EBADF' | 'EIO';
}

export interface HandleState {
  readonly file: FileNode;
  readonly path: string;
  readonly writable: boolean;
  readonly generation: Generation;
  /** How many folder wipes had happened when it was opened: a later wipe of its folder retires it. */
  readonly wipesSeen: number;
  closed: boolean;
}

/** True when `path` is `prefix` or inside it. */
export function underPrefix(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

type RolledFault = 'eioWrite' | 'eioSync' | 'latentReadError' | 'bitRot';

export class DiskCore {
  faults: DiskFaults = {};
  readonly stats: DiskStats = { reads: 0, writes: 0, syncs: 0, dirSyncs: 0, faultsInjected: {} };
  readonly tree = new DiskTree();
  private generation: Generation = { valid: true, code: 'EBADF' };
  private misdirect: 'unused' | 'armed' | 'used' = 'unused';
  /** Folders wiped so far (a replaced device each), in order. */
  private readonly wipes: string[] = [];

  constructor(
    readonly name: string,
    private readonly random: SimRandom,
  ) {}

  // ---- whole-disk events --------------------------------------------------------------------

  crash(): void {
    this.retire('EBADF');
    this.tree.crash(this.random, `${this.name}.crash`);
  }

  replaceWithEmpty(): void {
    this.retire('EIO');
    this.tree.reset();
  }

  /**
   * The device mounted at folder `prefix` is replaced by an empty one: the folder stays (durable)
   * but everything under it is gone, durably; handles opened under it fail with EIO.
   */
  wipe(prefix: string): void {
    this.wipes.push(prefix);
    this.stats.faultsInjected.wipe = (this.stats.faultsInjected.wipe ?? 0) + 1;
    this.tree.wipe(prefix);
  }

  /**
   * Media corruption at rest: flips bits of `count` stored bytes of the file (durable and page
   * cache alike, so every later read sees them). False when it is not a non-empty file.
   */
  rot(path: string, count: number): boolean {
    const file = this.tree.findQuietly(path);
    if (file?.kind !== 'file' || file.current.size === 0) return false;
    this.stats.faultsInjected.rot = (this.stats.faultsInjected.rot ?? 0) + 1;
    for (let i = 0; i < count; i++) {
      const at = this.random.int(file.current.size, `${this.name}.rot.byte`);
      const mask = 1 << this.random.int(8, `${this.name}.rot.bit`);
      for (const bytes of [file.current, file.durable]) {
        if (at >= bytes.size) continue;
        const b = bytes.read(at, 1);
        b[0]! ^= mask;
        bytes.write(at, b);
      }
    }
    return true;
  }

  armMisdirectedWrite(): boolean {
    if (this.misdirect !== 'unused') return false;
    this.misdirect = 'armed';
    return true;
  }

  private retire(code: Generation['code']): void {
    this.generation.valid = false;
    this.generation.code = code;
    this.generation = { valid: true, code: 'EBADF' };
  }

  // ---- handles ------------------------------------------------------------------------------

  open(path: string, mode: OpenMode): HandleState {
    this.online('open', path);
    let node = this.tree.find(path, 'open');
    if (node === null) {
      if (mode === 'read' || mode === 'readWrite') throw fsError('ENOENT', 'open', path, 'no such file or directory');
      const { dir, name } = this.tree.parent(path, 'open');
      this.checkSpace(true, 'open', path);
      node = this.tree.createFile(dir, name);
    } else if (mode === 'createNew') {
      throw fsError('EEXIST', 'open', path, 'file already exists');
    }
    if (node.kind === 'dir') throw fsError('EISDIR', 'open', path, 'is a directory');
    this.tree.retain(node);
    return { file: node, path, writable: mode !== 'read', generation: this.generation, wipesSeen: this.wipes.length, closed: false };
  }

  read(h: HandleState, position: number, length: number): Uint8Array {
    this.stats.reads++;
    this.usable(h, 'read', false);
    checkRange(position, length, 'read', h.path);
    return this.deliver(h.file.current.read(position, length), 'read', h.path);
  }

  write(h: HandleState, position: number, data: Uint8Array): void {
    this.stats.writes++;
    this.usable(h, 'write', true);
    checkRange(position, data.length, 'write', h.path);
    this.checkWrite(data.length > 0 && position + data.length > h.file.current.size, 'write', h.path);
    this.put(h.file, position, data.slice());
  }

  truncate(h: HandleState, size: number): void {
    this.stats.writes++;
    this.usable(h, 'ftruncate', true);
    checkRange(size, 0, 'ftruncate', h.path);
    this.checkWrite(size > h.file.current.size, 'ftruncate', h.path);
    this.tree.mutate(h.file, { kind: 'truncate', size });
  }

  sync(h: HandleState, syscall: 'fsync' | 'fdatasync'): void {
    this.stats.syncs++;
    this.usable(h, syscall, false);
    if (this.roll('eioSync')) throw this.inject('eioSync', syscall, h.path);
    this.tree.syncFile(h.file);
  }

  size(h: HandleState): number {
    this.usable(h, 'fstat', false);
    return h.file.current.size;
  }

  close(h: HandleState): void {
    // close(2) releases the descriptor even when it reports EIO.
    if (this.offlineFor(h.path) && h.generation.valid && !h.closed) this.release(h);
    this.usable(h, 'close', false);
    this.release(h);
  }

  private release(h: HandleState): void {
    h.closed = true;
    this.tree.release(h.file);
  }

  private usable(h: HandleState, syscall: string, write: boolean): void {
    this.online(syscall, h.path);
    if (!h.generation.valid) throw fsError(h.generation.code, syscall, h.path, 'handle opened before a crash or drive replacement');
    for (let i = h.wipesSeen; i < this.wipes.length; i++) {
      if (underPrefix(h.path, this.wipes[i]!)) throw fsError('EIO', syscall, h.path, `handle opened before ${this.wipes[i]} was replaced`);
    }
    if (h.closed) throw fsError('EBADF', syscall, h.path, 'file handle is closed');
    if (write && !h.writable) throw fsError('EBADF', syscall, h.path, 'handle is open for reading only');
  }

  // ---- whole-file and directory calls -------------------------------------------------------

  readFile(path: string): Uint8Array {
    this.stats.reads++;
    this.online('read', path);
    const file = this.existingFile(path, 'open');
    return this.deliver(file.current.snapshot(), 'read', path);
  }

  writeFile(path: string, data: Uint8Array): void {
    this.stats.writes++;
    this.online('write', path);
    const node = this.tree.find(path, 'open');
    if (node?.kind === 'dir') throw fsError('EISDIR', 'open', path, 'is a directory');
    const target = node === null ? this.tree.parent(path, 'open') : null;
    this.checkWrite(node === null || data.length > node.current.size, 'write', path);
    const file = target === null ? (node as FileNode) : this.tree.createFile(target.dir, target.name);
    if (target === null) this.tree.mutate(file, { kind: 'truncate', size: 0 });
    this.put(file, 0, data.slice());
  }

  rename(from: string, to: string): void {
    this.online('rename', from);
    this.online('rename', to);
    this.tree.rename(from, to);
  }

  link(existing: string, to: string): void {
    this.online('link', existing);
    this.online('link', to);
    this.tree.hardLink(existing, to);
  }

  unlink(path: string): void {
    this.online('unlink', path);
    const { dir, name } = this.tree.parent(path, 'unlink');
    const id = dir.entries.get(name);
    if (id === undefined) throw fsError('ENOENT', 'unlink', path, 'no such file or directory');
    if (this.tree.node(id).kind === 'dir') throw fsError('EISDIR', 'unlink', path, 'is a directory');
    this.tree.unlinkEntry(dir, name);
  }

  mkdir(path: string): void {
    this.online('mkdir', path);
    this.checkSpace(this.tree.missingDirs(path) > 0, 'mkdir', path);
    this.tree.mkdir(path);
  }

  removeTree(path: string): void {
    this.online('rm', path);
    this.tree.removeTree(path);
  }

  readdir(path: string): string[] {
    this.online('scandir', path);
    return [...this.existingDir(path, 'scandir').entries.keys()].sort();
  }

  stat(path: string): FileStat | null {
    this.online('stat', path);
    const node = this.tree.find(path, 'stat');
    return node === null ? null : this.tree.stat(node);
  }

  syncDir(path: string): void {
    this.stats.dirSyncs++;
    this.online('fsync', path);
    const dir = this.existingDir(path, 'fsync');
    if (this.roll('eioSync')) throw this.inject('eioSync', 'fsync', path);
    this.tree.syncDir(dir);
  }

  private existingFile(path: string, syscall: string): FileNode {
    const node = this.existing(path, syscall);
    if (node.kind === 'dir') throw fsError('EISDIR', syscall, path, 'is a directory');
    return node;
  }

  private existingDir(path: string, syscall: string): DirNode {
    const node = this.existing(path, syscall);
    if (node.kind === 'file') throw fsError('ENOTDIR', syscall, path, 'not a directory');
    return node;
  }

  private existing(path: string, syscall: string): Node {
    const node = this.tree.find(path, syscall);
    if (node === null) throw fsError('ENOENT', syscall, path, 'no such file or directory');
    return node;
  }

  // ---- faults -------------------------------------------------------------------------------

  private online(syscall: string, path: string): void {
    if (this.faults.offline) throw this.inject('offline', syscall, path);
    if (this.offlineFor(path)) throw this.inject('offlinePrefix', syscall, path);
  }

  private offlineFor(path: string): boolean {
    return this.faults.offline === true || (this.faults.offlinePrefixes?.some((prefix) => underPrefix(path, prefix)) ?? false);
  }

  /** Draws only when the fault is enabled, so enabling one fault does not shift other draws. */
  private roll(kind: RolledFault): boolean {
    const p = this.faults[kind] ?? 0;
    return p > 0 && this.random.chance(p, `${this.name}.${kind}`);
  }

  private inject(kind: string, syscall: string, path: string, code = 'EIO'): Error {
    this.stats.faultsInjected[kind] = (this.stats.faultsInjected[kind] ?? 0) + 1;
    return fsError(code, syscall, path, `injected ${kind}`);
  }

  private checkWrite(grows: boolean, syscall: string, path: string): void {
    if (this.roll('eioWrite')) throw this.inject('eioWrite', syscall, path);
    this.checkSpace(grows, syscall, path);
  }

  private checkSpace(allocates: boolean, syscall: string, path: string): void {
    if (allocates && this.faults.enospc) throw this.inject('enospc', syscall, path, 'ENOSPC');
  }

  /** Reads see latent sector errors and bit rot in transit; the stored bytes never change. */
  private deliver(data: Uint8Array, syscall: string, path: string): Uint8Array {
    if (this.roll('latentReadError')) throw this.inject('latentReadError', syscall, path);
    if (data.length > 0 && this.roll('bitRot')) {
      this.inject('bitRot', syscall, path);
      const at = this.random.int(data.length, `${this.name}.bitRot.byte`);
      data[at]! ^= 1 << this.random.int(8, `${this.name}.bitRot.bit`);
    }
    return data;
  }

  // ---- misdirected write --------------------------------------------------------------------

  /** `data` is already a private copy. */
  private put(file: FileNode, position: number, data: Uint8Array): void {
    if (this.misdirect === 'armed' && data.length > 0) this.misdirected(file, position, data);
    else this.tree.mutate(file, { kind: 'write', offset: position, data });
  }

  /**
   * The file system records the write (the file grows to its intended size) but the drive puts
   * the sectors elsewhere: the intended range keeps its old bytes (zeros when it was past EOF).
   */
  private misdirected(file: FileNode, position: number, data: Uint8Array): void {
    this.misdirect = 'used';
    this.stats.faultsInjected.misdirectedWrite = (this.stats.faultsInjected.misdirectedWrite ?? 0) + 1;
    const end = position + data.length;
    if (end > file.current.size) this.tree.mutate(file, { kind: 'truncate', size: end });
    const label = `${this.name}.misdirect`;
    const others = this.tree.visibleFiles().filter((f) => f !== file && f.current.size > 0);
    if (others.length > 0 && this.random.chance(0.5, `${label}.otherFile`)) {
      const other = others[this.random.int(others.length, `${label}.which`)]!;
      this.land(other, position < other.current.size ? position : 0, data);
      return;
    }
    const shift = SECTOR * (1 + this.random.int(8, `${label}.shift`));
    const places = [position - shift, position + shift].filter((p) => p >= 0 && p < file.current.size);
    // No place inside the file: the sectors went to free space, i.e. the write is lost.
    if (places.length > 0) this.land(file, places[this.random.int(places.length, `${label}.side`)]!, data);
  }

  /** Misdirected sectors overwrite what is there but never change a file's size. */
  private land(file: FileNode, position: number, data: Uint8Array): void {
    const n = Math.min(data.length, file.current.size - position);
    if (n > 0) this.tree.mutate(file, { kind: 'write', offset: position, data: data.subarray(0, n) });
  }
}

function checkRange(position: number, length: number, syscall: string, path: string): void {
  if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw fsError('EINVAL', syscall, path, `bad position ${position} or length ${length}`);
  }
}
