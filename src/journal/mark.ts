import { BlockKind, decodeJsonFrame, encodeJsonFrame } from '../codec/frame.js';
import { corrupt } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import { replaceDurably } from '../util/durable-file.js';
import { joinPath, isStoredName } from '../util/paths.js';
import { retryCorrupt } from '../util/retry-corrupt.js';

/**
 * The checkpoint mark `translogs/journal.checkpoint` (spec JNL-3): the highest commit sequence
 * number whose changes are durable in place, and the obsolete blob files that checkpoint
 * deletes next (per store). Replay skips every record at or below `seq`: the journal file is
 * reused from its start, so stale records stay in it (and a record older than the disk would
 * write sector images older than the disk: simulator seed 1396 --journal lost an append that
 * way). The files are listed before they are deleted, so a crash in between cannot leave them
 * behind as orphans: the next open deletes them.
 */
export interface CheckpointMark {
  readonly seq: number;
  readonly doomed: Readonly<Record<string, readonly string[]>>;
}

const MARK = 'journal.checkpoint';
const BLOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The mark, made durable first: a checkpoint that crashed between its rename and the folder sync
 * left a mark a later power loss can take back, with the records above the older one. An open
 * that acted on it deleted the files it lists, and the next open replayed a record whose leaf
 * base was one of them (simulator seed 1862000331 --journal).
 */
export async function readCheckpointMark(env: Env, dir: string): Promise<CheckpointMark> {
  const path = joinPath(dir, MARK);
  if (!(await env.fs.stat(path))) return { seq: 0, doomed: {} };
  await env.fs.syncDir(dir);
  return retryCorrupt(async () => checkMark(decodeJsonFrame<CheckpointMark>(await env.fs.readFile(path), BlockKind.Journal, MARK)));
}

export async function writeCheckpointMark(env: Env, dir: string, mark: CheckpointMark): Promise<void> {
  await replaceDurably(env.fs, dir, MARK, encodeJsonFrame(BlockKind.Journal, mark));
}

/** Its ids become paths: each must be a store name and a blob id, nothing else (STORE-4). */
function checkMark(mark: CheckpointMark): CheckpointMark {
  const ok =
    typeof mark === 'object' && mark !== null && Number.isSafeInteger(mark.seq) && mark.seq >= 0 &&
    typeof mark.doomed === 'object' && mark.doomed !== null &&
    Object.entries(mark.doomed).every(([store, ids]) => isStoredName(store) && Array.isArray(ids) && ids.every((id) => typeof id === 'string' && BLOB_ID.test(id)));
  if (!ok) throw corrupt(`${MARK}: malformed`);
  return mark;
}


