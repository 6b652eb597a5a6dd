/** Fixtures for the hazard tests: temp folders, a file system that "dies" at a named point, a fake clock. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, Database, type Env, type FileHandle, type FileStat, type FileSystem, NodeFileSystem, type OpenMode, realEnv } from '../../src/index.js';

export function tempFolder(label: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `sop-hazard-${label}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

const dead = (): Error => Object.assign(new Error('EIO: simulated crash (the process is dead)'), { code: 'EIO' });

/**
 * The real file system until `kill()`: from then on every call fails (closing handles still
 * works, to free descriptors). What is on disk at that moment is what a SIGKILL would leave:
 * every write so far reached the kernel.
 */
export class MortalFileSystem implements FileSystem {
  private readonly inner = new NodeFileSystem();
  private readonly open_ = new Set<FileHandle>();
  dead = false;

  kill(): void {
    this.dead = true;
  }

  private alive(): void {
    if (this.dead) throw dead();
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    this.alive();
    const handle = await this.inner.open(path, mode);
    this.open_.add(handle);
    const fs = this;
    const guard =
      <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
      async (...a: A): Promise<R> => {
        if (fs.dead) throw dead();
        return f(...a);
      };
    return {
      read: guard((p: number, l: number) => handle.read(p, l)),
      write: guard((p: number, d: Uint8Array) => handle.write(p, d)),
      datasync: guard(() => handle.datasync()),
      sync: guard(() => handle.sync()),
      truncate: guard((s: number) => handle.truncate(s)),
      size: guard(() => handle.size()),
      close: async () => {
        fs.open_.delete(handle);
        await handle.close();
      },
    };
  }

  /** Closes what the dead process left open (the kernel would). */
  async closeAll(): Promise<void> {
    const handles = [...this.open_];
    this.open_.clear();
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
  }
  async readFile(path: string): Promise<Uint8Array> {
    this.alive();
    return this.inner.readFile(path);
  }
  async writeFile(path: string, data: Uint8Array): Promise<void> {
    this.alive();
    return this.inner.writeFile(path, data);
  }
  async rename(from: string, to: string): Promise<void> {
    this.alive();
    return this.inner.rename(from, to);
  }
  async unlink(path: string): Promise<void> {
    this.alive();
    return this.inner.unlink(path);
  }
  async mkdir(path: string): Promise<void> {
    this.alive();
    return this.inner.mkdir(path);
  }
  async removeTree(path: string): Promise<void> {
    this.alive();
    return this.inner.removeTree(path);
  }
  async readdir(path: string): Promise<string[]> {
    this.alive();
    return this.inner.readdir(path);
  }
  async stat(path: string): Promise<FileStat | null> {
    this.alive();
    return this.inner.stat(path);
  }
  async syncDir(path: string): Promise<void> {
    this.alive();
    return this.inner.syncDir(path);
  }
}

/** An Env whose process "dies" the `n`-th time point `name` is reached. */
export function mortalEnv(name: string, n = 1): { env: Env; fs: MortalFileSystem } {
  const fs = new MortalFileSystem();
  let hits = 0;
  const point = (reached: string): void => {
    if (fs.dead) throw dead();
    if (reached === name && ++hits === n) {
      fs.kill();
      throw dead();
    }
  };
  return { env: { ...realEnv(), fs, point }, fs };
}

/**
 * Opens `folder` with an Env that dies at point `name` (n-th hit), runs `work`, and checks the
 * crash happened. The dead database is abandoned like a killed process.
 */
export async function crashDuring(folder: string, name: string, work: (db: Database) => Promise<void>, n = 1): Promise<void> {
  const { env, fs } = mortalEnv(name, n);
  let db: Database | undefined;
  try {
    db = await Database.open({ folder, env });
    await work(db);
  } catch {
    // the crash surfaces as an error of whatever was running
  }
  if (!fs.dead) throw new Error(`point ${name} (#${n}) was never reached`);
  await db?.close().catch(() => undefined);
  await fs.closeAll();
}

export class FakeClock implements Clock {
  t = 1_000;
  now(): number {
    return 1_700_000_000_000 + this.t;
  }
  monotonic(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** The real file system, except that handle writes to paths matching `failWrites` fail with EIO while it is set. */
export class FaultyFileSystem implements FileSystem {
  private readonly inner = new NodeFileSystem();
  failWrites: ((path: string) => boolean) | null = null;

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const handle = await this.inner.open(path, mode);
    const fs = this;
    return {
      read: (p, l) => handle.read(p, l),
      write: async (p, d) => {
        if (fs.failWrites?.(path)) throw Object.assign(new Error(`EIO: injected write failure on ${path}`), { code: 'EIO' });
        return handle.write(p, d);
      },
      datasync: () => handle.datasync(),
      sync: () => handle.sync(),
      truncate: (s) => handle.truncate(s),
      size: () => handle.size(),
      close: () => handle.close(),
    };
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.inner.readFile(path);
  }
  writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.inner.writeFile(path, data);
  }
  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }
  mkdir(path: string): Promise<void> {
    return this.inner.mkdir(path);
  }
  removeTree(path: string): Promise<void> {
    return this.inner.removeTree(path);
  }
  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }
  stat(path: string): Promise<FileStat | null> {
    return this.inner.stat(path);
  }
  syncDir(path: string): Promise<void> {
    return this.inner.syncDir(path);
  }
}
