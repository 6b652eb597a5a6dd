import { parallel } from '../blobs/blob-store.js';
import type { RepairReport, ScrubProgress } from '../blobs/blobs.js';
import type { ErasureBlobStore } from './erasure-blob-store.js';
import { encodeShard } from './shard-format.js';

export type { RepairReport };

/**
 * Repairs blobs one at a time under the blob's lock (a concurrent write or delete of it has
 * finished before, or starts after): reads every shard, and when at least D are valid rebuilds
 * the missing and bad ones and writes them durably. A blob that is garbage by then (its write
 * failed, or it was deleted since the caller listed it) is never rebuilt: what is left of it is
 * deleted instead. The valid shards it keeps are made durable too (their folders synced once per
 * call, and again for a shard whose own write failed half way): a shard that reads back from the
 * page cache only would be lost by a power loss after the repair counted the blob whole (sim
 * seed 111). Afterwards every repaired blob has all D+P shards valid and durable (spec EC-3).
 */
export async function repairBlobs(store: ErasureBlobStore, ids: readonly string[], progress?: ScrubProgress): Promise<RepairReport> {
  let shardsRewritten = 0;
  let unwritable = 0;
  const unrecoverable: string[] = [];
  /** Folders synced by this call: an entry made before that sync is durable. */
  const synced = new Set<string>();
  let done = 0;
  await parallel(ids, 4, async (id) => {
    await store.locked(id, async () => {
      if (store.isDead(id)) return store.discardLocked(id);
      const reads = await store.readAll(id);
      if (reads.every((r) => r.failure === 'missing')) return store.repaired(id); // deleted meanwhile
      const states = store.codec.check(id, reads.map((r) => r.file));
      const bad = states.flatMap((s, d) => (s.shard ? [] : [d]));
      if (states.length - bad.length < store.codec.dataShards) {
        if (await store.hasTombstone(id)) return; // deleted since the caller listed it: purge() deletes the rest
        unrecoverable.push(id);
        return;
      }
      let failed = 0;
      // The valid shards must be durable, not only readable from the page cache.
      for (const [d, s] of states.entries()) {
        if (!s.shard) continue;
        const folder = store.shardFolder(d, id);
        if (synced.has(folder) && !store.isUnsettled(d, id)) continue;
        try {
          await store.secureShard(d, id);
          synced.add(folder);
        } catch {
          failed++; // reported in the result (unwritable); the next repair tries again
        }
      }
      if (bad.length > 0) {
        const full = await store.codec.rebuild(states.map((s) => s.shard));
        for (const d of bad) {
          try {
            await store.writeShard(d, id, encodeShard(full[d]!));
            shardsRewritten++;
          } catch {
            failed++; // reported in the result (unwritable); the next repair tries again
          }
        }
      }
      unwritable += failed;
      if (failed === 0) store.repaired(id);
      else store.needsRepair(id);
    });
    progress?.(++done, ids.length);
  });
  unrecoverable.sort();
  return { blobs: ids.length, shardsRewritten, unrecoverable: unrecoverable.length, unwritable, unrecoverableSample: unrecoverable.slice(0, 5) };
}

export interface DriveHealth {
  readonly index: number;
  readonly drive: string;
  /** 'ok', or why the drive's store folder cannot be read ('missing' when it does not exist). */
  readonly state: string;
  /** Shard files of this store on the drive. */
  readonly shards: number;
}

/** Lists each drive's shards: a quick look without reading them (`sop inspect`). */
export async function driveHealth(store: ErasureBlobStore): Promise<DriveHealth[]> {
  return Promise.all(
    store.config.drives.map(async (drive, index) => {
      try {
        return { index, drive, state: 'ok', shards: (await store.listDrive(index)).length };
      } catch (error) {
        const code = (error as { code?: string }).code;
        return { index, drive, state: code === 'ENOENT' ? 'missing' : error instanceof Error ? error.message : String(error), shards: 0 };
      }
    }),
  );
}
