import { decodeShard } from '../src/ec/shard-format.js';
import { FolderDevice } from './folder-device.js';
import type { SimDisk } from './sim-disk.js';

/** An erasure-coding geometry of a run: D data and P parity shards on D+P drive folders. */
export interface EcGeometry {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly drives: readonly string[];
}

/**
 * The simulator's view of the erasure-coded drives of a run (spec EC-1..EC-3): one
 * FolderDevice per drive, and an oracle that reads the shard files straight off the SimDisk
 * (no faults, no scheduling) to keep the nemesis within what D+P coding survives: a drive
 * fault or a rotted shard is only injected when every blob that has D valid shards now still
 * has D valid shards on drives that are up without it.
 */
export class EcDrives {
  readonly devices: FolderDevice[];
  /** Validity of shard files already checked, by path and file stamp (rot changes no stamp: rot() forgets its file). */
  private readonly verdicts = new Map<string, { stamp: string; valid: boolean }>();

  constructor(
    private readonly disk: SimDisk,
    readonly geometry: EcGeometry,
  ) {
    this.devices = geometry.drives.map((drive) => new FolderDevice(disk, drive));
  }

  /** Indexes of the drives that are offline now. */
  offline(): number[] {
    return this.devices.flatMap((device, d) => (device.offline ? [d] : []));
  }

  /**
   * For every blob (`<store>/<id>`) with a shard file on some drive: `valid`, the drives holding a
   * valid shard of it that a power loss keeps (its folder entries durable, no unsynced write), and
   * `written`, those holding a valid shard at all. A shard in the page cache only is no
   * redundancy: a repair whose write or folder sync failed (drive offline mid-write) leaves one
   * behind, and a crash after another drive fault took it (seed 111). But a write in flight
   * counts it as stored as soon as its data sync returns, before its folder is synced.
   */
  census(): Map<string, { valid: Set<number>; written: Set<number> }> {
    const blobs = new Map<string, { valid: Set<number>; written: Set<number> }>();
    this.devices.forEach((device, d) => {
      for (const path of device.files()) {
        const shard = parseShardPath(path.slice(device.prefix.length + 1));
        if (!shard) continue;
        const key = `${shard.store}/${shard.id}`;
        let entry = blobs.get(key);
        if (!entry) blobs.set(key, (entry = { valid: new Set(), written: new Set() }));
        if (shard.index !== d || !this.valid(path, shard.id, d)) continue;
        entry.written.add(d);
        if (this.disk.settledFile(path)) entry.valid.add(d);
      }
    });
    return blobs;
  }

  /**
   * The budget of a drive fault: true when losing the drives in `lose` (wiped, offline or one
   * shard rotted) keeps every blob within what D+P coding survives; `only` restricts it to one blob.
   * - A blob with D valid shards must keep D on drives that are up (those offline now excluded).
   * - A blob with fewer (a write in flight, or the leftovers of a delete) must not lose a shard
   *   written, settled or not: a write in flight already counted that shard as stored once its
   *   data sync returned, so losing it would let the write complete with fewer than D valid
   *   shards (simulator seed 1512205333, journal mode: a checkpoint's long write of many blobs
   *   under slow I/O had two shards of one blob rotted before it synced their folders). An
   *   offline window loses nothing, so `offline` skips this rule.
   */
  survives(lose: ReadonlySet<number>, options: { only?: string; offline?: boolean } = {}): boolean {
    const { only, offline = false } = options;
    const down = new Set([...lose, ...this.offline()]);
    const { dataShards } = this.geometry;
    for (const [key, { valid, written }] of this.census()) {
      if (only !== undefined && key !== only) continue;
      if (valid.size < dataShards ? !offline && [...written].some((d) => lose.has(d)) : [...valid].filter((d) => !down.has(d)).length < dataShards) return false;
    }
    return true;
  }

  /** Blobs with fewer than D+P valid shards (redundancy not full), as `<store>/<id>`. */
  degradedBlobs(): string[] {
    const total = this.devices.length;
    return [...this.census()].filter(([, { valid }]) => valid.size < total).map(([key]) => key).sort();
  }

  /** Shard files on drive `d`, as [path, blob key]. */
  shardFiles(d: number): Array<[string, string]> {
    const device = this.devices[d]!;
    return device.files().flatMap((path) => {
      const shard = parseShardPath(path.slice(device.prefix.length + 1));
      return shard ? [[path, `${shard.store}/${shard.id}`] as [string, string]] : [];
    });
  }

  /** Every shard file ever rotted at rest (a journal leaf that could not be rebuilt must name one: run.ts). */
  readonly everRotted = new Set<string>();

  /** Flips bits in a stored shard file (rot at rest). */
  rot(d: number, path: string, count: number): boolean {
    this.verdicts.delete(path);
    this.everRotted.add(path);
    return this.devices[d]!.rot(path, count);
  }

  private valid(path: string, id: string, d: number): boolean {
    const stamp = this.disk.fileStamp(path);
    const known = this.verdicts.get(path);
    if (known && known.stamp === stamp) return known.valid;
    const bytes = this.disk.peekFile(path);
    let valid = false;
    if (bytes) {
      try {
        const shard = decodeShard(bytes, path);
        const { dataShards, parityShards } = this.geometry;
        valid = shard.blobId === id && shard.index === d && shard.dataShards === dataShards && shard.parityShards === parityShards;
      } catch {
        valid = false;
      }
    }
    this.verdicts.set(path, { stamp: stamp ?? '', valid });
    return valid;
  }
}

/** `<store>/blobs/<xx>/<id>.<index>` relative to a drive folder; null for anything else. */
function parseShardPath(relative: string): { store: string; id: string; index: number } | null {
  const parts = relative.split('/');
  if (parts.length !== 4 || parts[1] !== 'blobs') return null;
  const match = /^(.+)\.(\d+)$/.exec(parts[3]!);
  return match ? { store: parts[0]!, id: match[1]!, index: Number(match[2]) } : null;
}
