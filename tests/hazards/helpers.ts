/** Fixtures for the hazard tests: temp folders, a file system that "dies" at a named point, a fake clock. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, Database, type Env, type FileHandle, NodeFileSystem, type OpenMode, realEnv } from '../../src/index.js';
import { FaultyFileSystem as ProjectFaultyFileSystem, ioError } from '../../fault-injection/faulty-fs.js';

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
export class MortalFileSystem extends ProjectFaultyFileSystem {
  private readonly open_ = new Set<FileHandle>();
  dead = false;

  constructor() {
    super(new NodeFileSystem(), () => null);
    this.plan = () => (this.dead ? dead() : null);
  }

  kill(): void {
    this.dead = true;
  }

  /** Opens through the fault plan and remembers the handle until it is closed. */
  override async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const handle = await super.open(path, mode);
    const tracked: FileHandle = {
      read: (p, l) => handle.read(p, l),
      write: (p, d) => handle.write(p, d),
      datasync: () => handle.datasync(),
      sync: () => handle.sync(),
      truncate: (n) => handle.truncate(n),
      size: () => handle.size(),
      close: async () => {
        this.open_.delete(tracked);
        await handle.close();
      },
    };
    this.open_.add(tracked);
    return tracked;
  }

  /** Closes what the dead process left open (the kernel would). */
  async closeAll(): Promise<void> {
    const handles = [...this.open_];
    this.open_.clear();
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
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
 * Opens `folder` in place (`journal: false`: the points name steps of the in-place protocol)
 * with an Env that dies at point `name` (n-th hit), runs `work`, and checks the crash happened. The dead database is abandoned like a killed process.
 */
export async function crashDuring(folder: string, name: string, work: (db: Database) => Promise<void>, n = 1): Promise<void> {
  const { env, fs } = mortalEnv(name, n);
  let db: Database | undefined;
  try {
    db = await Database.open({ folder, env, journal: false }); // the named points are the in-place protocol's steps
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
export class FaultyFileSystem extends ProjectFaultyFileSystem {
  failWrites: ((path: string) => boolean) | null = null;

  constructor() {
    super(new NodeFileSystem(), () => null);
    this.plan = (call) => (call.op === 'write' && this.failWrites?.(call.path) ? ioError('EIO', call) : null);
  }
}
