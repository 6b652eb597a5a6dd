/**
 * Real drives for tests: loop-mounted ext4 images in a temp folder, with the faults a real
 * drive has, made by the kernel rather than by a decorator:
 *
 * - `shutdown(i)`: `xfs_io -x -c shutdown` (the ext4 shutdown ioctl): EIO on every call, as a
 *   drive that died;
 * - `readOnly(i)`: `trigger_fs_error` in /sys/fs/ext4/<loopN>/, with `errors=remount-ro`: the
 *   kernel remounts it read-only, EROFS on every change (reads still work);
 * - `fill(i)`: a filler file takes the free space: ENOSPC; `unfill(i)` gives it back;
 * - `replace(i)`: the drive is swapped for a fresh empty image mounted at the same path.
 *
 * Needs root on Linux with mount, umount, losetup, truncate, mkfs.ext4 and xfs_io (Debian
 * `xfsprogs`); `unavailable()` says what is missing so a suite can skip with that reason.
 * Everything is unmounted and detached by `cleanup()` (call it from an `after` hook), and, best
 * effort, when the process exits: mounts are lazy-unmounted (`umount -l`), so a drive whose
 * files the engine still holds open never blocks the cleanup.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const TOOLS = ['mount', 'umount', 'losetup', 'truncate', 'mkfs.ext4', 'xfs_io'] as const;

export interface Drive {
  readonly index: number;
  /** The mount point: a real ext4 file system while mounted. */
  readonly mount: string;
  /** The image file behind it (a new one after `replace`). */
  image: string;
  readonly sizeMb: number;
}

/** Every LoopDrives alive in this process, for the exit hook. */
const live = new Set<LoopDrives>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const drives of live) drives.cleanupSync();
  });
}

function commandExists(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let probed: string | null | undefined;

/**
 * Null when loop-mounted ext4 drives can be made here, else why not (for the skip message).
 * Probes once: a tiny image is made, mounted and unmounted (a container without CAP_SYS_ADMIN
 * has root and the tools but cannot mount).
 */
export function unavailable(): string | null {
  if (probed !== undefined) return probed;
  probed = probe();
  return probed;
}

function probe(): string | null {
  if (process.platform !== 'linux') return `real drives need Linux (this is ${process.platform})`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'real drives need root (loop mounts); run as root, as CI does';
  const missing = TOOLS.filter((t) => !commandExists(t));
  if (missing.length > 0) return `real drives need ${missing.join(', ')} (apt-get install -y xfsprogs e2fsprogs mount util-linux; .ci/run installs xfsprogs)`;
  if (!fs.existsSync('/sys/fs/ext4')) return 'real drives need ext4 (/sys/fs/ext4 missing)';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-probe-'));
  const image = path.join(dir, 'probe.img');
  const mount = path.join(dir, 'm');
  try {
    fs.mkdirSync(mount);
    execFileSync('truncate', ['-s', '8M', image]);
    execFileSync('mkfs.ext4', ['-q', image], { stdio: 'pipe' });
    execFileSync('mount', ['-o', 'loop', image, mount], { stdio: 'pipe' });
    execFileSync('umount', [mount], { stdio: 'pipe' });
    return null;
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    return `a loop mount failed here (${stderr || (error as Error).message}); real drives need a kernel that lets root mount loop devices`;
  } finally {
    try {
      execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
    } catch {
      // not mounted: the usual case
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export class LoopDrives {
  readonly drives: Drive[] = [];
  /** Mount points currently mounted by this instance. */
  private readonly mounted = new Set<string>();
  private readonly fillers = new Map<number, string>();
  private generation = 0;
  private cleaned = false;

  private constructor(readonly dir: string) {}

  /** Cleans up every instance still alive in this process (an `after` hook, besides the exit hook). */
  static cleanupAll(): void {
    for (const drives of [...live]) drives.cleanupSync();
  }

  /** `count` fresh ext4 drives of `sizeMb` each, mounted under a new temp folder (`<dir>/d<i>`). */
  static async create(count: number, sizeMb = 64): Promise<LoopDrives> {
    const reason = unavailable();
    if (reason) throw new Error(reason);
    const drives = new LoopDrives(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-realdrives-')));
    live.add(drives);
    hookExit();
    try {
      for (let i = 0; i < count; i++) await drives.add(sizeMb);
    } catch (error) {
      await drives.cleanup();
      throw error;
    }
    return drives;
  }

  /** One more drive of `sizeMb`; returns it. */
  async add(sizeMb: number): Promise<Drive> {
    const index = this.drives.length;
    const mount = path.join(this.dir, `d${index}`);
    fs.mkdirSync(mount);
    const drive: Drive = { index, mount, image: '', sizeMb };
    drive.image = await this.makeImage(index, sizeMb);
    await this.mountImage(drive.image, mount);
    this.drives.push(drive);
    return drive;
  }

  /** The path of `name` on drive `i` (the engine's folders live below the mount point, beside lost+found). */
  at(i: number, name: string): string {
    return path.join(this.drive(i).mount, name);
  }

  /** The ext4 shutdown ioctl: EIO on every call from now on, like a drive that died. */
  async shutdown(i: number): Promise<void> {
    await run('xfs_io', ['-x', '-c', 'shutdown', this.drive(i).mount]);
  }

  /** An ext4 error triggered in the kernel: remounted read-only (errors=remount-ro); changes fail with EROFS. */
  async readOnly(i: number): Promise<void> {
    const loop = await this.loopOf(this.drive(i).image);
    await fs.promises.writeFile(`/sys/fs/ext4/${loop}/trigger_fs_error`, '1\n');
    const options = (await fs.promises.readFile('/proc/self/mounts', 'utf8')).split('\n').find((l) => l.split(' ')[1] === this.drive(i).mount)?.split(' ')[3] ?? '';
    // Older kernels remount 'ro'; newer ones keep 'rw' and add 'emergency_ro'.
    if (!options.split(',').some((o) => o === 'ro' || o === 'emergency_ro')) throw new Error(`drive ${i} did not go read-only after trigger_fs_error (${options})`);
  }

  /**
   * Takes the free space of drive `i` with a filler file (`<mount>/filler`) until a write fails
   * with ENOSPC, then gives back `leaveKb` KiB; writes that need more then fail with ENOSPC
   * (the images have no blocks reserved for root). Returns the bytes taken.
   */
  async fill(i: number, leaveKb = 0): Promise<number> {
    const file = path.join(this.drive(i).mount, 'filler');
    const handle = await fs.promises.open(file, 'a');
    let taken = 0;
    try {
      for (let chunk = 1 << 20; chunk >= 1024; chunk >>= 2) {
        const zeros = Buffer.alloc(chunk);
        for (;;) {
          try {
            await handle.write(zeros);
            taken += chunk;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw error;
          }
        }
      }
      if (leaveKb > 0) {
        taken = Math.max(0, taken - leaveKb * 1024);
        await handle.truncate(taken);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.fillers.set(i, file);
    return taken;
  }

  /** Gives back the space `fill` took. */
  async unfill(i: number): Promise<void> {
    const file = this.fillers.get(i);
    if (!file) return;
    await fs.promises.rm(file, { force: true });
    this.fillers.delete(i);
    execFileSync('sync', ['-f', this.drive(i).mount]);
  }

  /** Free bytes on drive `i`. */
  async freeBytes(i: number): Promise<number> {
    const s = await fs.promises.statfs(this.drive(i).mount);
    return s.bavail * s.bsize;
  }

  /**
   * The drive is swapped for a new one: the old file system is detached (lazily: files the
   * engine still holds open on it stay attached to it, not to the path), a fresh empty image is
   * made and mounted at the same path.
   */
  async replace(i: number): Promise<void> {
    const drive = this.drive(i);
    await this.unmount(drive.mount);
    const old = drive.image;
    drive.image = await this.makeImage(i, drive.sizeMb);
    await this.mountImage(drive.image, drive.mount);
    await fs.promises.rm(old, { force: true }); // its loop device detaches when the last open file on it closes (autoclear)
    this.fillers.delete(i);
  }

  /** Unmounts and detaches everything, removes the temp folder. Idempotent. */
  async cleanup(): Promise<void> {
    this.cleanupSync();
  }

  /** The exit hook's cleanup (synchronous: 'exit' handlers cannot wait). */
  cleanupSync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    live.delete(this);
    for (const mount of [...this.mounted]) {
      try {
        execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
      } catch {
        // already gone: nothing to undo
      }
      this.mounted.delete(mount);
    }
    for (const drive of this.drives) {
      try {
        const out = execFileSync('losetup', ['-j', drive.image], { encoding: 'utf8' });
        for (const line of out.split('\n')) {
          const device = line.split(':')[0];
          if (device) execFileSync('losetup', ['-d', device], { stdio: 'ignore' });
        }
      } catch {
        // busy (a lazy unmount waits for open files, and autoclear detaches it then) or gone
      }
    }
    const stillMounted = this.mountsUnder();
    if (stillMounted.length === 0) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Mount points under this instance's folder that the kernel still lists (none after cleanup). */
  mountsUnder(): string[] {
    const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '');
    return mounts.filter((m) => m === this.dir || m.startsWith(`${this.dir}/`));
  }

  private drive(i: number): Drive {
    const drive = this.drives[i];
    if (!drive) throw new Error(`no drive ${i}`);
    return drive;
  }

  private async makeImage(index: number, sizeMb: number): Promise<string> {
    const image = path.join(this.dir, `d${index}.${this.generation++}.img`);
    await run('truncate', ['-s', `${sizeMb}M`, image]);
    await run('mkfs.ext4', ['-q', '-m', '0', '-E', 'nodiscard', image]); // -m 0: no blocks reserved for root, so a fill really fills
    return image;
  }

  private async mountImage(image: string, mount: string): Promise<void> {
    await run('mount', ['-o', 'loop,errors=remount-ro', image, mount]);
    this.mounted.add(mount);
  }

  private async unmount(mount: string): Promise<void> {
    await run('umount', ['-l', mount]);
    this.mounted.delete(mount);
  }

  private async loopOf(image: string): Promise<string> {
    const { stdout } = await run('losetup', ['-j', image]);
    const device = stdout.split('\n')[0]?.split(':')[0];
    if (!device) throw new Error(`no loop device for ${image}`);
    return path.basename(device);
  }
}
