import { BlockKind, FRAME_HEADER_SIZE, FRAME_MAGIC, decodeFrame, encodeFrame } from '../codec/frame.js';
import { SopError, corrupt } from '../errors/sop-error.js';
import type { FileHandle } from '../ports/file-system.js';
import type { Env } from '../ports/env.js';
import type { Handle } from '../registry/handle.js';
import { unlinkIfPresent } from '../util/durable-file.js';
import { logPath, plgPath, redonePath } from '../util/paths.js';

/**
 * The two per-transaction logs in `translogs/` (spec LOG-1..LOG-4):
 * - `<tid>.log`, the step log: what to undo if the transaction dies before its commit point
 *   (stores it created, blobs it wrote) and, once done, what cleanup remains.
 * - `<tid>.plg`, the priority log: the commit record. Once durable the transaction is
 *   committed; it holds every handle change (before and after images) and the new store
 *   counts, so recovery can redo the registry flip.
 */
export interface BlobRef {
  readonly store: string;
  readonly id: string;
}

export type StepRecord =
  | { readonly type: 'begin'; readonly tid: string; readonly startedAt: number; readonly maxTimeMs: number }
  | { readonly type: 'createStore'; readonly name: string }
  | { readonly type: 'prepare'; readonly blobs: readonly BlobRef[] }
  | { readonly type: 'done'; readonly obsolete: readonly BlobRef[] };

export interface StoreCommit {
  readonly name: string;
  readonly count: number;
  readonly changes: ReadonlyArray<{ id: string; before: Handle | null; after: Handle | null }>;
}

export interface PriorityLog {
  readonly tid: string;
  readonly seq: number;
  readonly stores: readonly StoreCommit[];
  readonly obsolete: readonly BlobRef[];
  /**
   * Set (the wall time) on a fence, not a commit record: another process recovered this
   * transaction as dead and took its commit point, so it can never commit (spec CLU-6).
   */
  readonly fenced?: number;
}

/** How long a fence stays: longer than any transaction may run (MAX_MAX_TIME_MS, 1 h). */
export const FENCE_KEEP_MS = 2 * 60 * 60_000;

const TEXT = new TextEncoder();
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Appends framed step records, each made durable before `append` returns. */
export class StepLog {
  private file: FileHandle | null = null;
  private size = 0;
  /** The last append queued (never rejects): the next one starts after it. */
  private appending: Promise<void> = Promise.resolve();

  constructor(
    private readonly env: Env,
    private readonly dir: string,
    readonly tid: string,
  ) {}

  get exists(): boolean {
    return this.file !== null;
  }

  /**
   * Appends one record durably. Appends run one at a time, in call order: an early write of
   * values (Transaction.spillValues) may log while the transaction logs something else.
   */
  append(record: StepRecord): Promise<void> {
    const run = this.appending.then(() => this.appendNow(record));
    this.appending = run.catch(() => undefined); // the caller of that append gets its error; the queue only orders
    return run;
  }

  private async appendNow(record: StepRecord): Promise<void> {
    const created = this.file === null;
    if (!this.file) this.file = await this.env.fs.open(logPath(this.dir, this.tid), 'create');
    const bytes = encodeFrame(BlockKind.TxLog, TEXT.encode(JSON.stringify(record)));
    await this.file.write(this.size, bytes);
    this.size += bytes.length;
    await this.file.datasync();
    if (created) await this.env.fs.syncDir(this.dir);
  }

  /**
   * Closes and deletes the log. A log that reappears after a power loss is recovered again,
   * which is harmless (spec LOG-4) except for one whose undo removes stores by name: that
   * removal is made durable (`durable`), so a later store of the same name is never touched.
   */
  async remove(durable = false): Promise<void> {
    if (!this.file) return;
    await this.file.close();
    this.file = null;
    await unlinkIfPresent(this.env, logPath(this.dir, this.tid));
    if (durable) await this.env.fs.syncDir(this.dir);
  }
}

/**
 * Parses a step log. Each record was made durable before the next was written, so only the
 * last one can be torn: a damaged record followed by more bytes is corruption (`intact` false),
 * never a torn tail to be silently dropped. `clean` is false when anything was dropped: the
 * caller reads again, since a media error on the read path looks just like a torn record.
 */
export function parseStepLog(bytes: Uint8Array, where: string): { records: StepRecord[]; intact: boolean; clean: boolean } {
  const records: StepRecord[] = [];
  let offset = 0;
  while (offset + FRAME_HEADER_SIZE <= bytes.length) {
    const length = new DataView(bytes.buffer, bytes.byteOffset + offset, 12).getUint32(8, true);
    const end = offset + FRAME_HEADER_SIZE + length;
    try {
      if (end > bytes.length) throw corrupt(`${where}: record runs past the end`);
      records.push(parseJson(decodeFrame(bytes.subarray(offset, end), BlockKind.TxLog, where), where) as StepRecord);
    } catch (error) {
      if (!SopError.is(error, 'CORRUPT')) throw error;
      // Torn last record: nothing valid follows. A valid record after it means real damage.
      return { records, intact: !validFrameAfter(bytes, offset + 1, where), clean: false };
    }
    offset = end;
  }
  return { records, intact: true, clean: offset === bytes.length };
}

/** Whether any complete, checksum-valid frame starts at or after `from`. */
function validFrameAfter(bytes: Uint8Array, from: number, where: string): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = from; at + FRAME_HEADER_SIZE <= bytes.length; at++) {
    if (view.getUint32(at, true) !== FRAME_MAGIC) continue;
    const end = at + FRAME_HEADER_SIZE + view.getUint32(at + 8, true);
    if (end > bytes.length) continue;
    try {
      decodeFrame(bytes.subarray(at, end), BlockKind.TxLog, where);
      return true;
    } catch {
      // not a frame: keep looking
    }
  }
  return false;
}

/** Whether a transaction's priority log is still there: a redo or an apply acts on it only then (REC-2). */
export async function priorityLogExists(env: Env, dir: string, tid: string): Promise<boolean> {
  return (await env.fs.stat(plgPath(dir, tid))) !== null;
}

/**
 * Whether a redo of this priority log may still act: the log is there (REC-2) and no committer
 * has redone it already (its `.redone` mark, CLU-5). A log redone once is applied durably; a
 * later commit may since have removed nodes it added, which a second redo would bring back.
 */
export async function redoStillDue(env: Env, dir: string, tid: string): Promise<boolean> {
  return (await priorityLogExists(env, dir, tid)) && (await env.fs.stat(redonePath(dir, tid))) === null;
}

/**
 * Leaves the durable mark that this priority log was redone (CLU-5): made durable before the
 * committer goes on, or a power loss could take the mark and keep the removals it let happen.
 */
export async function markRedone(env: Env, dir: string, tid: string): Promise<void> {
  try {
    await (await env.fs.open(redonePath(dir, tid), 'createNew')).close();
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
  }
  await env.fs.syncDir(dir);
}

/**
 * Removes a transaction's priority log, then its redone mark: the log goes first, so a mark
 * never vanishes while its log stays (that log would be redone again). A crash in between
 * leaves a mark alone, which scanLogs removes.
 */
export async function removePriorityLog(env: Env, dir: string, tid: string): Promise<void> {
  await unlinkIfPresent(env, plgPath(dir, tid));
  await unlinkIfPresent(env, redonePath(dir, tid));
}

export async function writePriorityLog(env: Env, dir: string, log: PriorityLog): Promise<void> {
  const file = await env.fs.open(plgPath(dir, log.tid), 'createNew');
  try {
    await file.write(0, encodeFrame(BlockKind.PriorityLog, TEXT.encode(JSON.stringify(log))));
    await file.datasync();
  } finally {
    await file.close();
  }
  await env.fs.syncDir(dir);
}

/**
 * Clustered recovery of a transaction whose process is dead (spec CLU-6): takes its commit
 * point first by creating its priority log as a fence, exclusively. False when a priority log
 * is there already: the transaction reached its commit point after all, and is redone instead.
 * A process only presumed dead (paused past its liveness TTL) then fails to create its own
 * priority log and rolls back, instead of committing onto blobs this recovery deletes.
 */
export async function writeFence(env: Env, dir: string, tid: string): Promise<boolean> {
  let file: FileHandle;
  try {
    file = await env.fs.open(plgPath(dir, tid), 'createNew');
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') return false;
    throw error;
  }
  try {
    const fence: PriorityLog = { tid, seq: 0, stores: [], obsolete: [], fenced: env.clock.now() };
    await file.write(0, encodeFrame(BlockKind.PriorityLog, TEXT.encode(JSON.stringify(fence))));
    await file.datasync();
  } finally {
    await file.close();
  }
  await env.fs.syncDir(dir);
  return true;
}

/** null for a torn or corrupt priority log: its commit point was never reached (spec LOG-2). */
export function parsePriorityLog(bytes: Uint8Array, where: string): PriorityLog | null {
  try {
    const log = parseJson(decodeFrame(bytes, BlockKind.PriorityLog, where), where) as PriorityLog;
    if (typeof log.tid !== 'string' || !Number.isSafeInteger(log.seq) || !Array.isArray(log.stores)) throw corrupt(`${where}: malformed`);
    return log;
  } catch (error) {
    if (SopError.is(error, 'CORRUPT')) return null;
    throw error;
  }
}

function parseJson(payload: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(UTF8.decode(payload));
  } catch {
    throw corrupt(`${where}: not valid JSON`);
  }
}
