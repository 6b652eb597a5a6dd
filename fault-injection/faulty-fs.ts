import type { FileHandle, FileLock, FileStat, FileSystem, LockRefused, OpenMode } from '../src/ports/file-system.js';

/** One file-system call as a fault plan sees it. */
export interface FsCall {
  /** 1-based count of calls made through this decorator so far. */
  readonly n: number;
  readonly op: string;
  readonly path: string;
}

/** Decides whether a call fails: return an Error to throw, or null to let it through. */
export type FaultPlan = (call: FsCall) => Error | null;

export function ioError(code: string, call: FsCall): Error {
  return Object.assign(new Error(`${code}: injected fault #${call.n}, ${call.op} '${call.path}'`), { code });
}

/**
 * A FileSystem decorator that fails calls chosen by a plan, over any FileSystem: the real
 * node:fs adapter (real-fault tests on real folders) or a simulated disk. Calls are counted
 * in the order they are made, so "fail the Nth I/O" is exact (the SQLite I/O-error loop).
 */
export class FaultyFileSystem implements FileSystem {
  private count = 0;
  readonly calls: FsCall[] = [];
  record = false;

  constructor(
    private readonly inner: FileSystem,
    public plan: FaultPlan,
  ) {}

  get callCount(): number {
    return this.count;
  }

  /** Counts and maybe fails one call, then runs it. */
  async run<T>(op: string, path: string, call: () => Promise<T>): Promise<T> {
    const info: FsCall = { n: ++this.count, op, path };
    if (this.record) this.calls.push(info);
    const fault = this.plan(info);
    if (fault) throw fault;
    return call();
  }

  /** `run` for a blocking call (FileHandle.writeAndSyncBlocking): counted and planned the same way, thrown synchronously. */
  runBlocking(op: string, path: string, call: () => void): void {
    const info: FsCall = { n: ++this.count, op, path };
    if (this.record) this.calls.push(info);
    const fault = this.plan(info);
    if (fault) throw fault;
    call();
  }

  lock(path: string, mode: 'exclusive' | 'shared', owner: string): Promise<FileLock | LockRefused> {
    return this.run('lock', path, () => this.inner.lock(path, mode, owner));
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const handle = await this.run(`open:${mode}`, path, () => this.inner.open(path, mode));
    return new FaultyHandle(this, handle, path);
  }
  readFile(path: string): Promise<Uint8Array> { return this.run('readFile', path, () => this.inner.readFile(path)); }
  writeFile(path: string, data: Uint8Array): Promise<void> { return this.run('writeFile', path, () => this.inner.writeFile(path, data)); }
  rename(from: string, to: string): Promise<void> { return this.run('rename', `${from} -> ${to}`, () => this.inner.rename(from, to)); }
  link(existing: string, to: string): Promise<void> { return this.run('link', `${existing} -> ${to}`, () => this.inner.link(existing, to)); }
  unlink(path: string): Promise<void> { return this.run('unlink', path, () => this.inner.unlink(path)); }
  mkdir(path: string): Promise<void> { return this.run('mkdir', path, () => this.inner.mkdir(path)); }
  removeTree(path: string): Promise<void> { return this.run('removeTree', path, () => this.inner.removeTree(path)); }
  readdir(path: string): Promise<string[]> { return this.run('readdir', path, () => this.inner.readdir(path)); }
  stat(path: string): Promise<FileStat | null> { return this.run('stat', path, () => this.inner.stat(path)); }
  syncDir(path: string): Promise<void> { return this.run('syncDir', path, () => this.inner.syncDir(path)); }
}

class FaultyHandle implements FileHandle {
  /**
   * Present only when the inner handle has it (callers test for it): one call for the plan, op
   * 'writeAndSyncBlocking' (a plan failing ops that start with 'write' fails it too); a fault
   * fails it before anything is written.
   */
  declare readonly writeAndSyncBlocking?: (position: number, data: Uint8Array) => void;

  constructor(
    private readonly fs: FaultyFileSystem,
    private readonly inner: FileHandle,
    private readonly path: string,
  ) {
    const blocking = inner.writeAndSyncBlocking?.bind(inner);
    if (blocking) {
      (this as { writeAndSyncBlocking?: (position: number, data: Uint8Array) => void }).writeAndSyncBlocking = (position, data) =>
        fs.runBlocking('writeAndSyncBlocking', path, () => blocking(position, data));
    }
  }

  read(position: number, length: number): Promise<Uint8Array> { return this.fs.run('read', this.path, () => this.inner.read(position, length)); }
  write(position: number, data: Uint8Array): Promise<void> { return this.fs.run('write', this.path, () => this.inner.write(position, data)); }
  datasync(): Promise<void> { return this.fs.run('datasync', this.path, () => this.inner.datasync()); }
  sync(): Promise<void> { return this.fs.run('sync', this.path, () => this.inner.sync()); }
  truncate(size: number): Promise<void> { return this.fs.run('truncate', this.path, () => this.inner.truncate(size)); }
  size(): Promise<number> { return this.fs.run('size', this.path, () => this.inner.size()); }
  /** Closing never fails: a leaked descriptor would outlive the test, not test anything. */
  close(): Promise<void> { return this.inner.close(); }
}

/** Common plans. */
export const plans = {
  none: (): FaultPlan => () => null,
  /** Fails exactly the nth call (counted from `from`) with EIO. */
  failNth: (n: number, code = 'EIO'): FaultPlan => (call) => (call.n === n ? ioError(code, call) : null),
  /** A drive that went offline: every call fails from the nth on. */
  offlineFrom: (n: number): FaultPlan => (call) => (call.n >= n ? ioError('EIO', call) : null),
  /** Fails calls whose path matches. */
  failPaths: (pattern: RegExp, ops: readonly string[], code = 'EIO'): FaultPlan => (call) =>
    pattern.test(call.path) && ops.some((op) => call.op.startsWith(op)) ? ioError(code, call) : null,
};
