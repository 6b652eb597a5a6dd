/**
 * The versions of a vector store's index. One version is active (queries read it); while a
 * re-clustering runs, the next version is built beside it (every write goes to both, a
 * migration moves the rest) and replaces it in one commit; the old one is then dropped bit by
 * bit. Only maintenance steps write the state record, so ordinary writes never conflict on it.
 */
import { corrupt } from '../../errors/sop-error.js';
import type { VectorTrees } from './trees.js';

export interface VersionInfo {
  ver: number;
  /** A uuid naming this centroid set ('flat' for version 1, which has one list at the origin). */
  build: string;
  /** Number of lists (centroids). */
  nlist: number;
  /** The vector count it was trained at: the next re-clustering comes at twice that. */
  trained: number;
}

export interface StateRecord {
  active: VersionInfo;
  /** The version being built (its lists are complete for the data keys up to the cursor). */
  next?: VersionInfo;
  /** A version being dropped (its slot must be empty before another build starts). */
  drop?: number;
}

export const FLAT: VersionInfo = { ver: 1, build: 'flat', nlist: 1, trained: 0 };

const STATE = 'state';
const CURSOR = 'cursor';

/** The state, or the initial one (a new store writes nothing until its first vector). */
export async function readState(trees: VectorTrees): Promise<StateRecord> {
  if (!(await trees.state.find(STATE))) return { active: FLAT };
  return checkState(await trees.state.getCurrentValue());
}

export async function writeState(trees: VectorTrees, state: StateRecord): Promise<void> {
  await trees.state.upsert(STATE, state);
}

/** Last data key the migration to the next version went through ('' before the first). */
export async function readCursor(trees: VectorTrees): Promise<string> {
  if (!(await trees.state.find(CURSOR))) return '';
  const value = await trees.state.getCurrentValue();
  if (typeof value !== 'string') throw corrupt('vector store migration cursor is not a string');
  return value;
}

export async function writeCursor(trees: VectorTrees, cursor: string | null): Promise<void> {
  if (cursor === null) await trees.state.remove(CURSOR);
  else await trees.state.upsert(CURSOR, cursor);
}

/** Versions every write must keep complete: the active one and the one being built. */
export function liveVersions(state: StateRecord): VersionInfo[] {
  return state.next ? [state.active, state.next] : [state.active];
}

function checkState(value: unknown): StateRecord {
  const s = value as StateRecord;
  const ok = typeof s === 'object' && s !== null && isVersion(s.active) && (s.next === undefined || (isVersion(s.next) && s.next.ver === s.active.ver + 1))
    && (s.drop === undefined || s.drop === s.active.ver - 1) && !(s.next !== undefined && s.drop !== undefined);
  if (!ok) throw corrupt(`vector store state is malformed: ${JSON.stringify(value)}`);
  return s;
}

function isVersion(v: unknown): v is VersionInfo {
  const x = v as VersionInfo;
  return typeof x === 'object' && x !== null && Number.isInteger(x.ver) && x.ver >= 1 && typeof x.build === 'string'
    && Number.isInteger(x.nlist) && x.nlist >= 1 && Number.isInteger(x.trained) && x.trained >= 0;
}
