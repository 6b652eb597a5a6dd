import { BlockKind, decodeJsonFrame, encodeJsonFrame } from '../codec/frame.js';
import { corrupt } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import { replaceDurably } from '../util/durable-file.js';
import { joinPath } from '../util/paths.js';
import { retryCorrupt } from '../util/retry-corrupt.js';

/**
 * The checkpoint mark `translogs/journal.checkpoint` (spec JNL-3): the highest commit sequence
 * number whose changes are durable in place. Records are deleted only after the mark covers
 * them, and replay skips any record at or below it: folder entries are removed in no guaranteed
 * order, so a crash while deleting records can leave an older record without the newer ones,
 * and replaying it would write sector images older than what is on disk (found by the
 * simulator, seed 1396 --journal: an acknowledged append lost).
 */
const MARK = 'journal.checkpoint';

export async function readCheckpointMark(env: Env, dir: string): Promise<number> {
  const path = joinPath(dir, MARK);
  if (!(await env.fs.stat(path))) return 0;
  return retryCorrupt(async () => {
    const mark = decodeJsonFrame<{ seq?: unknown }>(await env.fs.readFile(path), BlockKind.Journal, MARK);
    if (!Number.isSafeInteger(mark.seq) || (mark.seq as number) < 0) throw corrupt(`${MARK}: malformed`);
    return mark.seq as number;
  });
}

export async function writeCheckpointMark(env: Env, dir: string, seq: number): Promise<void> {
  await replaceDurably(env.fs, dir, MARK, encodeJsonFrame(BlockKind.Journal, { seq }));
}
