/**
 * Where a vector goes in a version: the list of its nearest centroid (L2 over the index form),
 * keyed by the distance to it. Placing and unplacing keep the data record's `at` and the list
 * entries equal (spec VEC-2).
 */
import { centroidsOf } from './centroids.js';
import { float32Of } from './codec.js';
import type { VectorContext } from './context.js';
import { nearestCentre } from './kmeans.js';
import { addEntry, removeEntry } from './lists.js';
import { indexForm, l2 } from './metric.js';
import { changedUnder } from './tx-helpers.js';
import type { VersionInfo } from './state.js';
import { type DataRecord, type Placement, slotOf } from './trees.js';

/** The list and distance of a vector (its index form given) in a version. */
export async function assignment(ctx: VectorContext, version: VersionInfo, ix: Float64Array): Promise<Placement> {
  const d = ctx.layer.dimensions;
  const set = await centroidsOf(ctx.env, ctx.name, ctx.trees, version, d);
  const cid = nearestCentre(ix, 0, set.data, set.count, d);
  return [version.ver, cid, l2(ix, set.data, d, cid * d)];
}

/** Adds an entry (codec.ts: packEntry) to a version's lists; returns its placement. */
export async function place(ctx: VectorContext, version: VersionInfo, id: string, entry: Uint8Array, ix: Float64Array): Promise<Placement> {
  const placement = await assignment(ctx, version, ix);
  await addEntry(ctx, placement[0], placement[1], placement[2], id, entry);
  return placement;
}

/** Removes the record's entries from the live versions (placements of dropped versions are left to the drop). */
export async function unplace(ctx: VectorContext, id: string, record: DataRecord, live: readonly VersionInfo[]): Promise<void> {
  for (const [ver, cid, dist] of record.at) {
    if (!live.some((v) => v.ver === ver)) continue;
    if (!(await removeEntry(ctx, ver, cid, dist, id))) throw changedUnder(`vector store ${ctx.name}: ${id} has no entry at ${JSON.stringify([ver, cid, dist])}`);
  }
}

/** The record's entry in version `ver` (its vector and metadata). */
export async function entryOf(ctx: VectorContext, ver: number, id: string, record: DataRecord): Promise<Uint8Array> {
  const at = record.at.find(([v]) => v === ver);
  const slot = slotOf(ctx.trees, ver);
  if (!at || !(await slot.find([at[1], at[2], id]))) throw changedUnder(`vector store ${ctx.name}: ${id} has no entry in version ${ver}`);
  return (await slot.getCurrentValue())!;
}

/** The index form of an entry's vector. */
export function entryIndexForm(ctx: VectorContext, entry: Uint8Array): Float64Array {
  return indexForm(float32Of(entry, ctx.layer.dimensions), ctx.layer.metric);
}
