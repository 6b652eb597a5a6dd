/**
 * The fault-free inode model behind SimDisk: files with durable bytes plus pending operations,
 * directories with current plus durable entries, and what a power loss makes of them.
 * Every method is synchronous and applies atomically; errors are coded like node:fs errors.
 */
import { createHash } from 'node:crypto';
import type { FileStat } from '../src/ports/file-system.js';
import type { SimRandom } from './types.js';
import { Bytes, SECTOR, type PendingOp } from './sim-disk-bytes.js';

/** What crash() does with each pending operation of a surviving file. */
export const CRASH_MODEL = {
  /** A pending write lands whole. */
  writeApplied: 0.3,
  /** A pending write is lost whole. */
  writeDropped: 0.4,
  /** A pending write is torn: each sector-aligned piece is kept with `pieceKept`. */
  writeTorn: 0.3,
  pieceKept: 0.5,
  /** A pending truncate is kept (otherwise dropped). */
  truncateKept: 0.5,
} as const;

export interface FileNode {
  readonly kind: 'file';
  readonly id: number;
  /** Content as of the last successful sync. */
  durable: Bytes;
  /** The page-cache view: durable with `pending` applied. */
  current: Bytes;
  pending: PendingOp[];
  mtime: number;
}

export interface DirNode {
  readonly kind: 'dir';
  readonly id: number;
  /** name -> inode id, as seen by readers now. */
  entries: Map<string, number>;
  /** name -> inode id, as of the last successful syncDir. */
  durable: Map<string, number>;
  mtime: number;
}

export type Node = FileNode | DirNode;

const ROOT = 0;

/** A node:fs-style error: `code` set, message naming the call and the path. */
export function fsError(code: string, syscall: string, path: string, detail = ''): Error {
  const text = detail === '' ? code : `${code}: ${detail}`;
  return Object.assign(new Error(`${text}, ${syscall} '${path}'`), { code, syscall, path });
}

/** Components of an absolute path; the simulator only accepts canonical-enough paths. */
export function splitPath(path: string, syscall: string): string[] {
  if (!path.startsWith('/')) throw fsError('EINVAL', syscall, path, 'path must be absolute');
  const parts = path.split('/').filter((part) => part.length > 0);
  if (parts.some((part) => part === '.' || part === '..')) {
    throw fsError('EINVAL', syscall, path, "'.' and '..' are not supported");
  }
  return parts;
}

export class DiskTree {
  readonly nodes = new Map<number, Node>();
  private nextId = ROOT + 1;
  private clock = 0;
  private gcThreshold = 64;
  /** Open handles per file inode: an unlinked file stays readable while open. */
  private readonly openCount = new Map<number, number>();

  constructor() {
    this.reset();
  }

  /** An empty drive with a durable root. */
  reset(): void {
    this.nodes.clear();
    this.openCount.clear();
    this.nodes.set(ROOT, { kind: 'dir', id: ROOT, entries: new Map(), durable: new Map(), mtime: this.tick() });
  }

  /** Deterministic mtime source: one tick per mutation. */
  tick(): number {
    return ++this.clock;
  }

  // ---- lookup -------------------------------------------------------------------------------

  /** The node at `path`; null when a component is missing; ENOTDIR when one is a file. */
  find(path: string, syscall: string): Node | null {
    return this.walk(splitPath(path, syscall), syscall, path);
  }

  /** The directory that holds `path`'s last component: ENOENT/ENOTDIR when it is not one. */
  parent(path: string, syscall: string): { dir: DirNode; name: string } {
    const parts = splitPath(path, syscall);
    const name = parts.pop();
    if (name === undefined) throw fsError('EINVAL', syscall, path, 'the root has no parent');
    const dir = this.walk(parts, syscall, path);
    if (dir === null) throw fsError('ENOENT', syscall, path, 'no such file or directory');
    if (dir.kind !== 'dir') throw fsError('ENOTDIR', syscall, path, 'not a directory');
    return { dir, name };
  }

  node(id: number): Node {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`sim-disk: dangling inode ${id}`);
    return node;
  }

  private walk(parts: string[], syscall: string, path: string): Node | null {
    let node = this.node(ROOT);
    for (const name of parts) {
      if (node.kind !== 'dir') throw fsError('ENOTDIR', syscall, path, 'not a directory');
      const id = node.entries.get(name);
      if (id === undefined) return null;
      node = this.node(id);
    }
    return node;
  }

  // ---- files --------------------------------------------------------------------------------

  createFile(dir: DirNode, name: string): FileNode {
    const file: FileNode = { kind: 'file', id: this.nextId++, durable: new Bytes(), current: new Bytes(), pending: [], mtime: this.tick() };
    this.nodes.set(file.id, file);
    this.link(dir, name, file.id);
    this.maybeCollect();
    return file;
  }

  /** Applies `op` to the page cache; it stays pending until the file is synced. */
  mutate(file: FileNode, op: PendingOp): void {
    file.pending.push(op);
    file.current.apply(op);
    file.mtime = this.tick();
  }

  syncFile(file: FileNode): void {
    for (const op of file.pending) file.durable.apply(op);
    file.pending = [];
  }

  retain(file: FileNode): void {
    this.openCount.set(file.id, (this.openCount.get(file.id) ?? 0) + 1);
  }

  release(file: FileNode): void {
    const count = (this.openCount.get(file.id) ?? 0) - 1;
    if (count > 0) this.openCount.set(file.id, count);
    else this.openCount.delete(file.id);
  }

  // ---- directories --------------------------------------------------------------------------

  link(dir: DirNode, name: string, id: number): void {
    dir.entries.set(name, id);
    dir.mtime = this.tick();
  }

  unlinkEntry(dir: DirNode, name: string): void {
    dir.entries.delete(name);
    dir.mtime = this.tick();
  }

  syncDir(dir: DirNode): void {
    dir.durable = new Map(dir.entries);
  }

  /** How many directories mkdir(path) would create; ENOTDIR when a component is a file. */
  missingDirs(path: string): number {
    const parts = splitPath(path, 'mkdir');
    let node: Node | null = this.node(ROOT);
    for (let i = 0; i < parts.length; i++) {
      if (node.kind !== 'dir') throw fsError('ENOTDIR', 'mkdir', path, 'not a directory');
      const id = node.entries.get(parts[i]!);
      if (id === undefined) return parts.length - i;
      node = this.node(id);
    }
    if (node.kind !== 'dir') throw fsError('EEXIST', 'mkdir', path, 'file already exists'); // the last component is a file: EEXIST, as POSIX
    return 0;
  }

  mkdir(path: string): void {
    let dir = this.node(ROOT) as DirNode;
    for (const name of splitPath(path, 'mkdir')) {
      const id = dir.entries.get(name);
      dir = id === undefined ? this.createDir(dir, name) : (this.node(id) as DirNode);
    }
  }

  private createDir(parent: DirNode, name: string): DirNode {
    const dir: DirNode = { kind: 'dir', id: this.nextId++, entries: new Map(), durable: new Map(), mtime: this.tick() };
    this.nodes.set(dir.id, dir);
    this.link(parent, name, dir.id);
    this.maybeCollect();
    return dir;
  }

  rename(from: string, to: string): void {
    const src = this.parent(from, 'rename');
    const id = src.dir.entries.get(src.name);
    if (id === undefined) throw fsError('ENOENT', 'rename', from, 'no such file or directory');
    const dst = this.parent(to, 'rename');
    const existing = dst.dir.entries.get(dst.name);
    // Two names of one inode: POSIX rename does nothing.
    if (existing === id) return;
    const moving = this.node(id);
    if (moving.kind === 'dir' && this.contains(moving, dst.dir)) {
      throw fsError('EINVAL', 'rename', to, 'cannot move a directory into itself');
    }
    if (existing !== undefined) this.checkReplace(moving, this.node(existing), to);
    this.unlinkEntry(src.dir, src.name);
    this.link(dst.dir, dst.name, id);
  }

  /** A second name for a file (POSIX link): EEXIST when `to` exists, EPERM for a directory. */
  hardLink(existing: string, to: string): void {
    const node = this.find(existing, 'link');
    if (node === null) throw fsError('ENOENT', 'link', existing, 'no such file or directory');
    if (node.kind === 'dir') throw fsError('EPERM', 'link', existing, 'operation not permitted');
    const dst = this.parent(to, 'link');
    if (dst.dir.entries.has(dst.name)) throw fsError('EEXIST', 'link', to, 'file already exists');
    this.link(dst.dir, dst.name, node.id);
  }

  private checkReplace(moving: Node, target: Node, to: string): void {
    if (moving.kind === 'file' && target.kind === 'dir') throw fsError('EISDIR', 'rename', to, 'is a directory');
    if (moving.kind === 'dir' && target.kind === 'file') throw fsError('ENOTDIR', 'rename', to, 'not a directory');
    if (target.kind === 'dir' && target.entries.size > 0) throw fsError('ENOTEMPTY', 'rename', to, 'directory not empty');
  }

  /** Whether `inner` is `outer` or inside it (by inode, so odd post-crash links count too). */
  private contains(outer: DirNode, inner: DirNode): boolean {
    const seen = new Set<number>();
    const stack: DirNode[] = [outer];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      if (dir === inner) return true;
      if (seen.has(dir.id)) continue;
      seen.add(dir.id);
      for (const id of dir.entries.values()) {
        const child = this.node(id);
        if (child.kind === 'dir') stack.push(child);
      }
    }
    return false;
  }

  removeTree(path: string): void {
    const node = this.find(path, 'rm');
    if (node === null) return;
    if (node.kind === 'dir') this.clearTree(node, new Set());
    if (node.id === ROOT) return;
    const { dir, name } = this.parent(path, 'rm');
    this.unlinkEntry(dir, name);
  }

  /** rm -rf unlinks every entry; durable entries stay, so a crash can bring them back. */
  private clearTree(dir: DirNode, seen: Set<number>): void {
    if (seen.has(dir.id)) return;
    seen.add(dir.id);
    for (const id of dir.entries.values()) {
      const child = this.node(id);
      if (child.kind === 'dir') this.clearTree(child, seen);
    }
    dir.entries.clear();
    dir.mtime = this.tick();
  }

  /** Empties the folder at `path` for good: its current and durable entries both go (a replaced device). */
  wipe(path: string): void {
    const node = this.find(path, 'wipe');
    if (node === null || node.kind !== 'dir') return;
    node.entries.clear();
    node.durable.clear();
    node.mtime = this.tick();
    this.collect();
  }

  stat(node: Node): FileStat {
    const size = node.kind === 'file' ? node.current.size : 0;
    return { size, isFile: node.kind === 'file', isDirectory: node.kind === 'dir', mtimeMs: node.mtime };
  }

  // ---- power loss and garbage -----------------------------------------------------------------

  /** Power loss: directories revert to their durable entries, then pending file ops are resolved. */
  crash(random: SimRandom, label: string): void {
    for (const node of this.nodes.values()) {
      if (node.kind === 'dir') node.entries = new Map(node.durable);
    }
    this.openCount.clear();
    this.collect();
    // Map order is creation order, so draws happen in a deterministic order.
    for (const node of this.nodes.values()) {
      if (node.kind === 'file') resolvePending(node, random, label);
    }
  }

  private maybeCollect(): void {
    if (this.nodes.size > this.gcThreshold) this.collect();
  }

  /** Drops inodes that neither a current nor a durable entry nor an open handle can reach. */
  private collect(): void {
    const keep = new Set<number>([ROOT, ...this.openCount.keys()]);
    const stack = [ROOT];
    while (stack.length > 0) {
      const node = this.node(stack.pop()!);
      if (node.kind !== 'dir') continue;
      for (const id of [...node.entries.values(), ...node.durable.values()]) {
        if (!keep.has(id)) {
          keep.add(id);
          stack.push(id);
        }
      }
    }
    for (const id of [...this.nodes.keys()]) if (!keep.has(id)) this.nodes.delete(id);
    this.gcThreshold = 2 * this.nodes.size + 64;
  }

  // ---- inspection ---------------------------------------------------------------------------

  /** Files reachable by current entries, in creation order. */
  visibleFiles(): FileNode[] {
    const seen = new Set<number>();
    const stack = [ROOT];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const node = this.node(id);
      if (node.kind === 'dir') stack.push(...node.entries.values());
    }
    return [...this.nodes.values()].filter((n): n is FileNode => n.kind === 'file' && seen.has(n.id));
  }

  /** Sorted absolute paths of the files at or under `path` (current entries). */
  listTree(path: string): string[] {
    const node = this.findQuietly(path);
    if (node === null) return [];
    const base = '/' + splitPath(path, 'listTree').join('/');
    const out: string[] = [];
    this.listInto(node, base, out, new Set());
    return out.sort();
  }

  private listInto(node: Node, path: string, out: string[], seen: Set<number>): void {
    if (node.kind === 'file') {
      out.push(path);
      return;
    }
    if (seen.has(node.id)) return;
    seen.add(node.id);
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const [name, id] of node.entries) this.listInto(this.node(id), prefix + name, out, seen);
  }

  /**
   * Whether the file at `path` would survive a power loss as it reads now: every entry leading
   * to it is durable (reaching the same inode) and it has no unsynced writes.
   */
  settled(path: string): boolean {
    const now = this.findQuietly(path);
    if (now?.kind !== 'file' || now.pending.length > 0) return false;
    let node = this.node(ROOT);
    for (const name of splitPath(path, 'peek')) {
      if (node.kind !== 'dir') return false;
      const id = node.durable.get(name);
      if (id === undefined) return false;
      node = this.node(id);
    }
    return node.id === now.id;
  }

  findQuietly(path: string): Node | null {
    try {
      return this.find(path, 'peek');
    } catch {
      return null;
    }
  }

  digest(): string {
    const hash = createHash('sha256');
    for (const node of this.nodes.values()) {
      hash.update(`${node.kind} ${node.id} ${node.mtime}\n`);
      if (node.kind === 'dir') {
        hash.update(entriesText(node.entries) + entriesText(node.durable));
        continue;
      }
      hash.update(`durable ${node.durable.size}\n`).update(node.durable.snapshot());
      for (const op of node.pending) {
        if (op.kind === 'truncate') hash.update(`truncate ${op.size}\n`);
        else hash.update(`write ${op.offset} ${op.data.length}\n`).update(op.data);
      }
    }
    return hash.digest('hex');
  }
}

function entriesText(entries: Map<string, number>): string {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${sorted.map(([name, id]) => `${JSON.stringify(name)}=${id}`).join(',')}\n`;
}

/** Each pending op independently lands, vanishes, or (writes) tears at sector boundaries. */
function resolvePending(file: FileNode, random: SimRandom, label: string): void {
  for (const op of file.pending) {
    if (op.kind === 'truncate') {
      if (random.chance(CRASH_MODEL.truncateKept, `${label}.truncate`)) file.durable.apply(op);
      continue;
    }
    const roll = random.float(`${label}.write`);
    if (roll < CRASH_MODEL.writeApplied) file.durable.apply(op);
    else if (roll >= CRASH_MODEL.writeApplied + CRASH_MODEL.writeDropped) tear(file.durable, op, random, label);
  }
  file.pending = [];
  file.current = file.durable.clone();
}

/** Pieces are aligned to file offsets (sectors), not to the start of the write. */
function tear(target: Bytes, op: { offset: number; data: Uint8Array }, random: SimRandom, label: string): void {
  const end = op.offset + op.data.length;
  for (let start = op.offset; start < end; ) {
    const pieceEnd = Math.min(end, (Math.floor(start / SECTOR) + 1) * SECTOR);
    if (random.chance(CRASH_MODEL.pieceKept, `${label}.piece`)) {
      target.write(start, op.data.subarray(start - op.offset, pieceEnd - op.offset));
    }
    start = pieceEnd;
  }
}
