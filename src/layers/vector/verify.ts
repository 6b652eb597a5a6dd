/**
 * `vs.verify()`: the index and the data agree exactly (spec VEC-2). Reads everything in the
 * caller's transaction (a 'read' one commits only if nothing changed meanwhile) and reports
 * every disagreement; the simulator runs it after recovery.
 */
import { dataKey, entryMetadata, float32Of, parseMetadata, readFloat64, sameBytes } from './codec.js';
import { type VectorContext, STAMP_SHARDS } from './context.js';
import { nearestCentre } from './kmeans.js';
import { indexForm, l2 } from './metric.js';
import { type StateRecord, type VersionInfo, liveVersions, readCursor, readState } from './state.js';
import { type DataRecord, slotOf, stampKey, stampVersion } from './trees.js';

export interface VectorStoreCheck {
  /** Vectors in the data tree. */
  vectors: number;
  /** Active version and its number of lists. */
  version: number;
  lists: number;
  /** Every disagreement found (empty: index ≡ data). */
  problems: string[];
}

interface VersionView {
  info: VersionInfo;
  centroids: Float64Array;
  placed: number;
  listSizes: Map<number, number>;
}

export async function verifyStore(ctx: VectorContext): Promise<VectorStoreCheck> {
  const problems: string[] = [];
  const state = await readState(ctx.trees);
  const views: VersionView[] = [];
  for (const info of liveVersions(state)) views.push({ info, centroids: await readCentroids(ctx, info, problems), placed: 0, listSizes: new Map() });
  const cursor = state.next ? await readCursor(ctx.trees) : '';
  let vectors = 0;
  for await (const [key, record] of ctx.trees.data.range()) {
    vectors++;
    await checkRecord(ctx, key, record, views, state, cursor, problems);
  }
  if (vectors !== ctx.trees.data.count) problems.push(`the data tree counts ${ctx.trees.data.count} vectors but holds ${vectors}`);
  for (const view of views) await checkVersion(ctx, view, problems);
  await checkLeftovers(ctx, state, problems);
  return { vectors, version: state.active.ver, lists: state.active.nlist, problems };
}

async function readCentroids(ctx: VectorContext, info: VersionInfo, problems: string[]): Promise<Float64Array> {
  const d = ctx.layer.dimensions;
  const data = new Float64Array(info.nlist * d);
  if (info.build === 'flat') return data;
  let count = 0;
  for await (const [[ver, cid], bytes] of ctx.trees.cent.range({ gte: [info.ver, 0], lt: [info.ver + 1, 0] })) {
    if (ver !== info.ver || cid !== count || bytes.length !== 8 * d || count >= info.nlist) {
      problems.push(`centroid [${ver}, ${cid}] of version ${info.ver} is malformed or out of place`);
      continue;
    }
    readFloat64(bytes, d, data, count * d);
    count++;
  }
  if (count !== info.nlist) problems.push(`version ${info.ver} has ${count} centroids, its state says ${info.nlist}`);
  return data;
}

/** One data record: its entries exist in each live version where they belong, all alike. */
async function checkRecord(ctx: VectorContext, key: string, record: DataRecord, views: VersionView[], state: StateRecord, cursor: string, problems: string[]): Promise<void> {
  const { dimensions: d, metric } = ctx.layer;
  const id = key.slice(8);
  if (dataKey(id) !== key) problems.push(`data key ${JSON.stringify(key)} does not match its id's hash`);
  if (!Array.isArray(record.at)) {
    problems.push(`${id}: its record is malformed`);
    return;
  }
  let first: Uint8Array | undefined;
  for (const view of views) {
    const at = record.at.filter(([ver]) => ver === view.info.ver);
    const expected = view.info === state.next ? key <= cursor || at.length > 0 : true;
    if (at.length !== (expected ? 1 : 0)) {
      problems.push(`${id}: ${at.length} placements in version ${view.info.ver}, expected ${expected ? 1 : 0}`);
      continue;
    }
    if (at.length === 0) continue;
    const [, cid, dist] = at[0]!;
    const slot = slotOf(ctx.trees, view.info.ver);
    const entry = (await slot.find([cid, dist, id])) ? await slot.getCurrentValue() : undefined;
    if (!entry) {
      problems.push(`${id}: no list entry at [${cid}, ${dist}] in version ${view.info.ver} (lost from the index)`);
      continue;
    }
    view.placed++;
    view.listSizes.set(cid, (view.listSizes.get(cid) ?? 0) + 1);
    if (first && !sameBytes(entry, first)) problems.push(`${id}: its entries in the live versions differ`);
    first ??= entry;
    const problem = checkEntry(entry, d, metric);
    if (problem) {
      problems.push(`${id}: ${problem}`);
      continue;
    }
    const ix = indexForm(float32Of(entry, d), metric);
    const nearest = nearestCentre(ix, 0, view.centroids, view.info.nlist, d);
    const distance = l2(ix, view.centroids, d, nearest * d);
    if (cid !== nearest || dist !== distance) problems.push(`${id}: placed at [${cid}, ${dist}] in version ${view.info.ver}, its nearest centroid is [${nearest}, ${distance}]`);
  }
}

/** What is wrong with an entry's bytes, or null. */
function checkEntry(entry: Uint8Array, d: number, metric: VectorContext['layer']['metric']): string | null {
  if (entry.length < 4 * d) return 'its entry is too short';
  const vector = float32Of(entry, d);
  if (!vector.every(Number.isFinite)) return 'its vector has a component that is not finite';
  if (metric === 'cosine' && vector.every((x) => x === 0)) return 'its vector is zero under cosine';
  try {
    parseMetadata(entryMetadata(entry, d));
  } catch {
    // The failure is the finding: verify reports it as a problem of this entry.
    return 'its metadata is not JSON';
  }
  return null;
}

/** No list entry without its record (counts match the placements found) and every non-empty list is stamped. */
async function checkVersion(ctx: VectorContext, view: VersionView, problems: string[]): Promise<void> {
  const entries = slotOf(ctx.trees, view.info.ver).count;
  if (entries !== view.placed) problems.push(`version ${view.info.ver} has ${entries} list entries for ${view.placed} placed vectors (ghost entries)`);
  for (const cid of view.listSizes.keys()) {
    let stamped = false;
    for (let shard = 0; shard < STAMP_SHARDS && !stamped; shard++) stamped = await ctx.trees.stamps.find(stampKey(view.info.ver, cid, shard));
    if (!stamped) problems.push(`list ${cid} of version ${view.info.ver} has entries but no stamp`);
  }
}

/** Nothing of other versions remains but what a drop in progress still has to delete. */
async function checkLeftovers(ctx: VectorContext, state: StateRecord, problems: string[]): Promise<void> {
  const allowed = new Set([...liveVersions(state).map((v) => v.ver), ...(state.drop !== undefined ? [state.drop] : [])]);
  for await (const [[ver]] of ctx.trees.cent.range()) if (!allowed.has(ver)) problems.push(`a centroid of version ${ver} remains`);
  for await (const [key] of ctx.trees.stamps.range()) if (!allowed.has(stampVersion(key))) problems.push(`a stamp of version ${stampVersion(key)} remains`);
  const otherSlot = state.active.ver + 1;
  if (!state.next && state.drop === undefined && slotOf(ctx.trees, otherSlot).count !== 0) problems.push(`the unused list slot holds ${slotOf(ctx.trees, otherSlot).count} entries`);
}
