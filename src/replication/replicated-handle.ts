import type { FileHandle } from '../ports/file-system.js';
import type { ReplicatedFileSystem } from './replicated-fs.js';
import type { Drive } from './status.js';

/**
 * An open file of the replicated folder: one handle per drive. Reads use the active drive's,
 * changes go through the file system's `onBoth` (mirrored, reconciled). A drive's handle opens
 * lazily when missing: after a failover, after a reinstate, or for a file opened while the
 * passive drive was out of replication (spec REPL-3: writes through such a handle reach the
 * passive copy once it is back in sync).
 */
export class ReplicatedHandle implements FileHandle {
  private closed = false;

  constructor(
    private readonly fs: ReplicatedFileSystem,
    readonly logical: string,
    private readonly writable: boolean,
    private readonly perDrive: [FileHandle | null, FileHandle | null],
  ) {}

  read(position: number, length: number): Promise<Uint8Array> {
    return this.fs.onActive(async (d) => (await this.on(d)).read(position, length));
  }

  size(): Promise<number> {
    return this.fs.onActive(async (d) => (await this.on(d)).size());
  }

  async write(position: number, data: Uint8Array): Promise<void> {
    await this.fs.onBoth([this.logical], async (d) => (await this.on(d)).write(position, data));
  }

  async truncate(size: number): Promise<void> {
    await this.fs.onBoth([this.logical], async (d) => (await this.on(d)).truncate(size));
  }

  async datasync(): Promise<void> {
    await this.fs.onBoth([], async (d) => (await this.on(d)).datasync());
  }

  async sync(): Promise<void> {
    await this.fs.onBoth([], async (d) => (await this.on(d)).sync());
  }

  /** Closes both; an error from the active drive's handle is the caller's. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fs.handles.delete(this);
    const active = this.fs.status.active;
    const passive = this.perDrive[active === 0 ? 1 : 0];
    const main = this.perDrive[active];
    this.perDrive[0] = this.perDrive[1] = null;
    await passive?.close().catch(() => undefined); // the passive's write errors surfaced through onBoth already
    await main?.close();
  }

  /** Forgets the handle on `drive` (failing, or about to be rewritten); the next use reopens it. */
  async drop(drive: Drive): Promise<void> {
    const file = this.perDrive[drive];
    this.perDrive[drive] = null;
    await file?.close().catch(() => undefined); // the drive is failing or about to be rewritten: nothing more goes through this handle
  }

  private async on(drive: Drive): Promise<FileHandle> {
    const open = this.perDrive[drive];
    if (open) return open;
    const file = await this.fs.inner.open(this.fs.map(this.logical, drive)!, this.writable ? 'readWrite' : 'read');
    if (this.closed || this.perDrive[drive]) {
      await file.close();
      return this.perDrive[drive] ?? Promise.reject(Object.assign(new Error('file handle closed'), { code: 'EBADF' }));
    }
    this.perDrive[drive] = file;
    return file;
  }
}
