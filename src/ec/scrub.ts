import { parallel } from '../blobs/blob-store.js';
import type { BlobIssue, ScrubProgress, ScrubReport } from '../blobs/blobs.js';
import { checkAnyFrame } from '../codec/frame.js';
import type { ErasureBlobStore } from './erasure-blob-store.js';

/**
 * `sop verify` for an erasure-coded store: every shard of every blob is read and checked (frame
 * CRC, header), the parity of complete blobs is compared with what the data shards encode to,
 * and the decoded blob's own frame is checked. A missing shard is an issue too: redundancy is
 * lost until repair (spec EC-3). Nothing is written.
 */
export async function scrubErasure(store: ErasureBlobStore, progress?: ScrubProgress): Promise<ScrubReport> {
  const ids = await store.list();
  const issues: BlobIssue[] = [];
  let unreadable = 0;
  let done = 0;
  const { dataShards, total } = store.codec;
  await parallel(ids, 4, async (id) => {
    const reads = await store.readAll(id);
    const states = store.codec.check(id, reads.map((r) => r.file));
    states.forEach((s, d) => {
      if (!s.shard) issues.push({ id, file: store.shardPath(d, id), problem: reads[d]!.failure === 'io' ? reads[d]!.detail : s.problem });
    });
    const shards = states.map((s) => s.shard);
    const valid = shards.filter((s) => s).length;
    if (valid < dataShards) {
      unreadable++;
      issues.push({ id, file: `blob ${id}`, problem: `${valid} valid shards of ${total}, ${dataShards} needed: unrecoverable` });
    } else {
      if (valid === total && !(await store.codec.parityConsistent(shards.map((s) => s!)))) {
        issues.push({ id, file: store.shardPath(dataShards, id), problem: 'parity shards do not match the data shards' });
      }
      try {
        checkAnyFrame(await store.codec.decodeShards(shards), `blob ${id}`);
      } catch (error) {
        unreadable++;
        issues.push({ id, file: `blob ${id} (decoded)`, problem: error instanceof Error ? error.message : String(error) });
      }
    }
    progress?.(++done, ids.length);
  });
  issues.sort((a, b) => a.id.localeCompare(b.id) || a.file.localeCompare(b.file));
  return { blobs: ids.length, issues, unreadable };
}
