import type { SimDisk } from './sim-disk.js';

/**
 * A device mounted at a folder of the simulated disk: faults by path prefix. Erasure-coded
 * drives are folders (/ec/d0, /ec/d1, ...) on the one SimDisk, and so will be the two sides of
 * a replicated folder; each can go offline (every call under it fails with EIO), be replaced
 * by an empty device (wiped), or rot a stored file, while the rest of the disk is unaffected.
 */
export class FolderDevice {
  constructor(
    readonly disk: SimDisk,
    readonly prefix: string,
  ) {}

  /** Whether calls under the folder currently fail (the disk's fault table is the truth: heal() clears it). */
  get offline(): boolean {
    return this.disk.faults.offlinePrefixes?.includes(this.prefix) ?? false;
  }

  set offline(on: boolean) {
    const others = (this.disk.faults.offlinePrefixes ?? []).filter((p) => p !== this.prefix);
    this.disk.faults.offlinePrefixes = on ? [...others, this.prefix] : others;
  }

  /** The device is replaced by an empty one: the folder stays, everything under it is gone for good. */
  wipe(): void {
    this.disk.wipe(this.prefix);
  }

  /** Sorted paths of the files under the folder (current entries). */
  files(): string[] {
    return this.disk.listTree(this.prefix);
  }

  /** Flips bits of `count` stored bytes of one file under the folder; false if it is no such file. */
  rot(path: string, count = 1): boolean {
    return path.startsWith(`${this.prefix}/`) && this.disk.rot(path, count);
  }
}
