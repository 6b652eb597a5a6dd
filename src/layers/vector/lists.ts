/**
 * IVF list entries and their stamps. Every change to a list goes through addEntry/removeEntry,
 * which also freshen the list's stamp for this transaction: that is what keeps the list cache
 * exact (list-cache.ts).
 */
import { corrupt } from '../../errors/sop-error.js';
import { entryMetadata, readFloat32 } from './codec.js';
import { type VectorContext, STAMP_SHARDS, listKey, txState } from './context.js';
import { type ListContent, contentBytes, listCacheOf } from './list-cache.js';
import { norm } from './metric.js';
import { type ListKey, slotOf, stampKey } from './trees.js';

export async function addEntry(ctx: VectorContext, ver: number, cid: number, dist: number, id: string, value: Uint8Array): Promise<void> {
  await touch(ctx, ver, cid);
  await slotOf(ctx.trees, ver).upsert([cid, dist, id], value);
}

export async function removeEntry(ctx: VectorContext, ver: number, cid: number, dist: number, id: string): Promise<boolean> {
  await touch(ctx, ver, cid);
  return slotOf(ctx.trees, ver).remove([cid, dist, id]);
}

/** Once per transaction and list: a fresh uuid in this transaction's stamp shard. */
async function touch(ctx: VectorContext, ver: number, cid: number): Promise<void> {
  const local = txState(ctx);
  const key = listKey(ver, cid);
  if (local.dirty.has(key)) return;
  local.slotsWritten.add(ver % 2);
  await ctx.trees.stamps.upsert(stampKey(ver, cid, local.shard), ctx.env.random.uuid());
  local.dirty.add(key);
}

/** A change to a version's slot that stamps nothing (the drop's deletions): as for addEntry/removeEntry, no list read from it is cached. */
export function slotWritten(ctx: VectorContext, ver: number): void {
  txState(ctx).slotsWritten.add(ver % 2);
}

/** The list's stamps as one string (point reads: a concurrent change elsewhere does not void this transaction's reads). */
async function readStamps(ctx: VectorContext, ver: number, cid: number): Promise<string> {
  let joined = '';
  for (let shard = 0; shard < STAMP_SHARDS; shard++) {
    if (await ctx.trees.stamps.find(stampKey(ver, cid, shard))) joined += `${shard}=${await ctx.trees.stamps.getCurrentValue()};`;
  }
  return joined;
}

/**
 * A list's content: from the cache when its stamps match, else from the tree, then cached unless
 * this transaction changed the list's slot.
 *
 * Why not then: the cache must hold only committed content, and a transaction's scan of a slot
 * it changed is not that. It reads its own copies of the nodes it changed (its writes, on top of
 * the nodes as they were when it copied them), whichever list or version those writes were for,
 * as versions v and v + 2 share a slot and list keys carry no version; and reads are no snapshot.
 * So a writer that put v7 into list 0 of version 1 then saw a concurrent commit's state with
 * version 3 active, scanned list 0 of version 3 (clean by `dirty`: '1:0' is not '3:0') with its
 * uncommitted v7 in it, and cached that under version 3's committed stamps: after it failed, v7
 * was a ghost in every query of the database, all lists probed or not (sim seed 1100108531,
 * VEC-4, VEC-8). A cache hit stays fine for such a transaction: committed content under the
 * stamps it reads, and the lists it changed itself it reads from the tree.
 */
export async function listContent(ctx: VectorContext, ver: number, cid: number): Promise<ListContent> {
  const local = txState(ctx);
  if (local.dirty.has(listKey(ver, cid))) return scanList(ctx, ver, cid);
  const key = `${ver}\u0000${cid}\u0000${await readStamps(ctx, ver, cid)}`;
  const cacheKey = `${ctx.name}\u0000${key}`;
  const cache = listCacheOf(ctx.env);
  const hit = cache.get(cacheKey) ?? local.toCache.get(cacheKey);
  if (hit) return hit;
  const content = await scanList(ctx, ver, cid);
  if (!local.slotsWritten.has(ver % 2)) cacheOnCommit(ctx, cacheKey, content);
  return content;
}

/**
 * Caches a list once its transaction commits with its reads validated ('nocheck' transactions
 * never cache). Reads are not a snapshot: a transaction may read a list's new stamps after a
 * concurrent commit and its entries from nodes it read before, and only validation tells
 * (TX-3). A 'nocheck' query cached such a list at once, and it stayed stale under the new stamps
 * for every later query of the database (clustered sim seed 1981525210: a final query probing
 * every list missed v1, VEC-4).
 */
function cacheOnCommit(ctx: VectorContext, cacheKey: string, content: ListContent): void {
  const local = txState(ctx);
  if (local.toCache.size === 0) {
    const cache = listCacheOf(ctx.env);
    ctx.tx.whenValidated(() => {
      for (const [key, list] of local.toCache) cache.set(key, list);
    });
  }
  local.toCache.set(cacheKey, content);
}

/** Reads a list from its tree, in key order. */
export async function scanList(ctx: VectorContext, ver: number, cid: number): Promise<ListContent> {
  const d = ctx.layer.dimensions;
  const dists: number[] = [];
  const ids: string[] = [];
  const values: Uint8Array[] = [];
  const metadata: Array<string | undefined> = [];
  let chars = 0;
  for await (const [[c, dist, id], value] of slotOf(ctx.trees, ver).range({ gte: listStart(cid), lt: listStart(cid + 1) })) {
    if (c !== cid || value.length < d * 4) throw corrupt(`vector store ${ctx.name}: list entry ${JSON.stringify([c, dist, id])} of version ${ver} is malformed`);
    dists.push(dist);
    ids.push(id);
    values.push(value);
    const m = entryMetadata(value, d);
    metadata.push(m);
    chars += id.length + (m?.length ?? 0);
  }
  const vectors = new Float32Array(values.length * d);
  const norms = new Float64Array(values.length);
  values.forEach((value, i) => {
    readFloat32(value, 0, d, vectors, i * d);
    norms[i] = norm(vectors, d, i * d);
  });
  return { size: ids.length, dists: Float64Array.from(dists), ids, vectors, norms, metadata, bytes: contentBytes(ids.length, d, chars, 0) };
}

/** A bound before every entry of list `cid` (a prefix sorts before the keys it starts). */
function listStart(cid: number): ListKey {
  return [cid] as unknown as ListKey;
}
