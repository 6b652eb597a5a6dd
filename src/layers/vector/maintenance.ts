/**
 * Re-clustering as the data grows, in bounded steps inside ordinary write transactions:
 *
 *   build    when the count reaches max(clusterAt, 2 × the count the active version was trained
 *            at): sample the data, k-means, write the next version's centroids (one step).
 *   migrate  writes go to both versions; each step moves the next MIGRATE_BATCH data records
 *            (in data-key order, after the cursor) into the next version's lists.
 *   switch   the step that finds no record left makes the next version active (one commit:
 *            queries move from a complete index to a complete index).
 *   drop     steps delete the old version's list entries, stamps and centroids.
 *
 * A write runs a step with probability STEP_CHANCE, so two concurrent writers rarely both
 * touch the migration cursor; the expected work per write (4 records) finishes a migration long
 * before the count doubles again. Queries only ever read the active version: never blocked.
 */
import type { Btree } from '../../database/btree.js';
import { writeCentroids } from './centroids.js';
import { hex8, idOfDataKey } from './codec.js';
import type { VectorContext } from './context.js';
import { kmeans } from './kmeans.js';
import { slotWritten } from './lists.js';
import { entryIndexForm, entryOf, place } from './placement.js';
import { changedUnder } from './tx-helpers.js';
import { type StateRecord, readCursor, writeCursor, writeState } from './state.js';
import { type DataRecord, slotOf } from './trees.js';

export const STEP_CHANCE = 1 / 8;
export const MIGRATE_BATCH = 32;
export const DROP_BATCH = 128;
export const MAX_LISTS = 4096;
const SAMPLE_PER_LIST = 32;
const MIN_SAMPLE = 256;
const MAX_SAMPLE = 16_384;

/** The count at which the active version is re-clustered. */
export function nextBuildAt(clusterAt: number, trained: number): number {
  return Math.max(clusterAt, 2 * trained);
}

/** After a write: maybe one bounded maintenance step. */
export async function tick(ctx: VectorContext, state: StateRecord): Promise<void> {
  const step = ctx.env.random.nextFloat() < STEP_CHANCE;
  if (state.drop !== undefined) {
    if (step) await dropStep(ctx, state, DROP_BATCH);
  } else if (state.next) {
    if (step) await migrateStep(ctx, state, MIGRATE_BATCH);
  } else if (ctx.trees.data.count >= nextBuildAt(ctx.layer.clusterAt, state.active.trained)) {
    await startBuild(ctx, state);
  }
}

/** `vs.optimize()`: finishes any pending step, then re-clusters on the current data, in this transaction. */
export async function optimize(ctx: VectorContext, state: StateRecord): Promise<void> {
  await settle(ctx, await startBuild(ctx, await settle(ctx, state)));
}

/** Runs the pending migration and drop to their end. */
async function settle(ctx: VectorContext, state: StateRecord): Promise<StateRecord> {
  let s = state;
  while (s.drop !== undefined) s = await dropStep(ctx, s, Infinity);
  while (s.next) s = await migrateStep(ctx, s, 1024);
  while (s.drop !== undefined) s = await dropStep(ctx, s, Infinity);
  return s;
}

/** Trains the next version's centroids on a sample of the data. Nothing to do on an empty store. */
export async function startBuild(ctx: VectorContext, state: StateRecord): Promise<StateRecord> {
  const n = ctx.trees.data.count;
  if (n === 0) return state;
  const ver = state.active.ver + 1;
  if (slotOf(ctx.trees, ver).count !== 0) throw changedUnder(`vector store ${ctx.name}: the slot of version ${ver} is not empty`);
  const d = ctx.layer.dimensions;
  const nlist = Math.max(1, Math.min(MAX_LISTS, Math.round(Math.sqrt(n))));
  const { points, size } = await readSample(ctx, state, Math.min(n, Math.max(MIN_SAMPLE, Math.min(MAX_SAMPLE, nlist * SAMPLE_PER_LIST))));
  const centres = kmeans(points, size, d, nlist, ctx.env.random);
  const build = ctx.env.random.uuid();
  const set = await writeCentroids(ctx.env, ctx.name, ctx.trees, ver, build, centres, d);
  const next: StateRecord = { active: state.active, next: { ver, build, nlist: set.count, trained: n } };
  await writeState(ctx.trees, next);
  return next;
}

/**
 * A uniform sample without replacement: data keys start with a hash of the id, so the records
 * after a random point of the key space are a random subset, whatever order (sorted, skewed)
 * the vectors came in.
 */
async function readSample(ctx: VectorContext, state: StateRecord, size: number): Promise<{ points: Float64Array; size: number }> {
  const d = ctx.layer.dimensions;
  const points = new Float64Array(size * d);
  const start = hex8(ctx.env.random.nextU32());
  let got = 0;
  for (const bounds of [{ gte: start }, { lt: start }]) {
    const records: Array<[string, DataRecord]> = [];
    for await (const item of ctx.trees.data.range({ ...bounds, limit: size - got })) records.push(item);
    for (const [key, record] of records) {
      points.set(entryIndexForm(ctx, await entryOf(ctx, state.active.ver, idOfDataKey(key), record)), got * d);
      got++;
    }
  }
  return { points, size: got };
}

/** Moves up to `limit` records into the next version; switches when none is left. */
export async function migrateStep(ctx: VectorContext, state: StateRecord, limit: number): Promise<StateRecord> {
  const next = state.next!;
  const cursor = await readCursor(ctx.trees);
  const batch: Array<[string, DataRecord]> = [];
  for await (const entry of ctx.trees.data.range(cursor === '' ? { limit } : { gt: cursor, limit })) batch.push(entry);
  for (const [key, record] of batch) {
    if (record.at.some(([ver]) => ver === next.ver)) continue; // written since the build began
    const id = idOfDataKey(key);
    const entry = await entryOf(ctx, state.active.ver, id, record);
    const placement = await place(ctx, next, id, entry, entryIndexForm(ctx, entry));
    await ctx.trees.data.upsert(key, { at: [...record.at.filter(([ver]) => ver === state.active.ver), placement] });
  }
  if (batch.length < limit) return switchVersion(ctx, state);
  await writeCursor(ctx.trees, batch[batch.length - 1]![0]);
  return state;
}

/** The next version is complete: it becomes the active one, in this commit. */
async function switchVersion(ctx: VectorContext, state: StateRecord): Promise<StateRecord> {
  const next = state.next!;
  const entries = slotOf(ctx.trees, next.ver).count;
  if (entries !== ctx.trees.data.count) throw changedUnder(`vector store ${ctx.name}: version ${next.ver} has ${entries} entries for ${ctx.trees.data.count} vectors`);
  const switched: StateRecord = { active: next, drop: state.active.ver };
  await writeState(ctx.trees, switched);
  await writeCursor(ctx.trees, null);
  return switched;
}

/** Deletes up to `limit` items of the dropped version: list entries, then stamps, then centroids. */
export async function dropStep(ctx: VectorContext, state: StateRecord, limit: number): Promise<StateRecord> {
  const old = state.drop!;
  const slot = slotOf(ctx.trees, old);
  slotWritten(ctx, old); // these deletions stamp nothing, yet they change what this transaction reads of the slot (lists.ts: listContent)
  let budget = limit;
  while (budget > 0 && (await slot.first())) {
    await slot.removeCurrentItem();
    budget--;
  }
  if (budget === 0) return state;
  budget -= await removeRange(ctx.trees.stamps, `${old}.`, `${old}/`, budget); // '/' follows '.'
  if (budget === 0) return state;
  budget -= await removeRange(ctx.trees.cent, [old, 0], [old + 1, 0], budget);
  if (budget === 0) return state;
  const done: StateRecord = { active: state.active };
  await writeState(ctx.trees, done);
  return done;
}

/** Removes up to `limit` items with keys in [gte, lt); returns how many. */
async function removeRange<K>(tree: Btree<K, unknown>, gte: K, lt: K, limit: number): Promise<number> {
  const keys: K[] = [];
  for await (const [key] of tree.range({ gte, lt, limit })) keys.push(key);
  for (const key of keys) await tree.remove(key);
  return keys.length;
}
