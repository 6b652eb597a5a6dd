import { constants as fsConstants, fdatasyncSync, writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { FileHandle, FileLock, FileStat, FileSystem, LockRefused, OpenMode } from '../ports/file-system.js';

/** flock(2) from the fs-ext native addon (node:fs has none); loaded on first use. */
type Flock = (fd: number, flags: 'exnb' | 'shnb' | 'un') => void;
let flockSync: Flock | undefined;
function flock(): Flock {
  flockSync ??= (createRequire(import.meta.url)('fs-ext') as { flockSync: Flock }).flockSync;
  return flockSync;
}

/** The real FileSystem over node:fs/promises. The only engine file that imports node:fs. */
export class NodeFileSystem implements FileSystem {
  /**
   * flock(2), non-blocking: the kernel drops it when the process dies, so a crash never leaves a
   * stale lock. Each call opens its own file description, so two locks of one path in one
   * process conflict as two processes' would.
   */
  async lock(path: string, mode: 'exclusive' | 'shared', owner: string): Promise<FileLock | LockRefused> {
    const handle = await fsp.open(path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644);
    try {
      flock()(handle.fd, mode === 'exclusive' ? 'exnb' : 'shnb');
    } catch (error) {
      await handle.close();
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') throw error;
      return { heldBy: (await fsp.readFile(path, 'utf8').catch(() => '')).trim() }; // the refusal stands; only its detail is lost
    }
    if (mode === 'exclusive') {
      await handle.truncate(0);
      await handle.write(owner, 0);
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        await handle.close(); // closing the last descriptor releases the flock
      },
    };
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const flags = { read: 'r', readWrite: 'r+', create: 'a+', createNew: 'wx+' }[mode];
    // 'a+' would force appends; open with O_RDWR|O_CREAT instead.
    const handle =
      mode === 'create'
        ? await fsp.open(path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644)
        : await fsp.open(path, flags, 0o644);
    return new NodeFileHandle(handle);
  }

  async readFile(path: string): Promise<Uint8Array> {
    return new Uint8Array(await fsp.readFile(path));
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    await fsp.writeFile(path, data);
  }

  async rename(from: string, to: string): Promise<void> {
    await fsp.rename(from, to);
  }

  async link(existing: string, to: string): Promise<void> {
    await fsp.link(existing, to);
  }

  async unlink(path: string): Promise<void> {
    await fsp.unlink(path);
  }

  async mkdir(path: string): Promise<void> {
    await fsp.mkdir(path, { recursive: true });
  }

  async removeTree(path: string): Promise<void> {
    await fsp.rm(path, { recursive: true, force: true });
  }

  /** Sorted by UTF-16 code unit (the port's contract, SimDisk's order): libuv sorts by UTF-8 bytes, which differs past U+FFFF. */
  async readdir(path: string): Promise<string[]> {
    return (await fsp.readdir(path)).sort();
  }

  async stat(path: string): Promise<FileStat | null> {
    try {
      const s = await fsp.stat(path);
      return { size: s.size, isFile: s.isFile(), isDirectory: s.isDirectory(), mtimeMs: s.mtimeMs };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async syncDir(path: string): Promise<void> {
    const handle = await fsp.open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}


class NodeFileHandle implements FileHandle {
  constructor(private readonly handle: fsp.FileHandle) {}

  async read(position: number, length: number): Promise<Uint8Array> {
    const buffer = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(buffer, filled, length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === length ? buffer : buffer.subarray(0, filled);
  }

  async write(position: number, data: Uint8Array): Promise<void> {
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.handle.write(data, written, data.length - written, position + written);
      written += bytesWritten;
    }
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  /** pwrite + fdatasync on this thread: no thread-pool round trips (about half the latency here). */
  writeAndSyncBlocking(position: number, data: Uint8Array): void {
    let written = 0;
    while (written < data.length) written += writeSync(this.handle.fd, data, written, data.length - written, position + written);
    fdatasyncSync(this.handle.fd);
  }

  sync(): Promise<void> {
    return this.handle.sync();
  }

  truncate(size: number): Promise<void> {
    return this.handle.truncate(size);
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
