import { BlockKind, decodeJsonFrame, encodeJsonFrame } from '../codec/frame.js';
import { corrupt } from '../errors/sop-error.js';
import type { FileSystem } from '../ports/file-system.js';
import { replaceDurably } from '../util/durable-file.js';
import { LOCK_FILE, joinPath } from '../util/paths.js';

/** Drive 0 is the database `folder`, drive 1 the `replication.passive` folder; the roles are fixed, only `active` moves. */
export type Drive = 0 | 1;

/**
 * What the passive drive is worth: 'in-sync' (every write is mirrored to it, it may take over),
 * 'failed' (out of replication after an error, or replaced: needs reinstate), 'reinstating'
 * (being copied: not trusted until the copy finishes; a crash restarts the copy).
 */
export type PassiveState = 'in-sync' | 'failed' | 'reinstating';

/**
 * `<drive>/replication.status` (spec REPL-1): which drive is active and what the other is
 * worth. Every change bumps `epoch` and is written durably to the active drive before anything
 * depends on it; the status with the highest epoch on either drive is the truth.
 */
export interface ReplicationStatus {
  readonly format: 1;
  readonly epoch: number;
  readonly active: Drive;
  readonly passive: PassiveState;
  /** Why the status last changed (shown by `sop inspect`). */
  readonly reason: string;
  /** Clock time of the change (ms). */
  readonly at: number;
  /** The two drive roots when the status was written: a sanity check against swapped options. */
  readonly drives: readonly [string, string];
}

export const STATUS_FILE = 'replication.status';

/**
 * `<active drive>/replication.open`: present from open to a clean close. Found at open, it says
 * the last run ended in a crash, whose unsynced writes may have settled differently on each
 * drive: the passive drive is then resynced before recovery (resync.ts).
 */
export const OPEN_MARKER = 'replication.open';

/** The per-drive files of replication itself, never copied or compared (they live at each drive's root). */
export const DRIVE_FILES: ReadonlySet<string> = new Set([STATUS_FILE, `${STATUS_FILE}.tmp`, OPEN_MARKER, LOCK_FILE]);

export function encodeStatus(status: ReplicationStatus): Uint8Array {
  return encodeJsonFrame(BlockKind.ReplicationStatus, status);
}

export function decodeStatus(bytes: Uint8Array, where: string): ReplicationStatus {
  const raw = decodeJsonFrame<ReplicationStatus>(bytes, BlockKind.ReplicationStatus, where);
  const wellFormed =
    raw?.format === 1 &&
    Number.isSafeInteger(raw.epoch) &&
    raw.epoch > 0 &&
    (raw.active === 0 || raw.active === 1) &&
    ['in-sync', 'failed', 'reinstating'].includes(raw.passive) &&
    Array.isArray(raw.drives) &&
    raw.drives.length === 2;
  if (!wellFormed) throw corrupt(`${where}: malformed replication status`);
  return raw;
}

/** What one drive says: its status, none (a new or replaced drive), or why it could not be read. */
export type DriveReading = { status: ReplicationStatus } | { status: null; problem: string | null };

export async function readStatus(fs: FileSystem, root: string): Promise<DriveReading> {
  const path = joinPath(root, STATUS_FILE);
  try {
    return { status: decodeStatus(await fs.readFile(path), path) };
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return { status: null, problem: null };
    return { status: null, problem: error instanceof Error ? error.message : String(error) };
  }
}

/** Replaces the drive's status atomically and durably (temporary file, rename, folder sync). */
export async function writeStatus(fs: FileSystem, root: string, status: ReplicationStatus): Promise<void> {
  await replaceDurably(fs, root, STATUS_FILE, encodeStatus(status));
  const back = await readStatus(fs, root); // read back: the seam is asserted, not assumed
  if (!back.status || back.status.epoch !== status.epoch || back.status.active !== status.active || back.status.passive !== status.passive) {
    throw corrupt(`${joinPath(root, STATUS_FILE)}: read back differs from what was written`);
  }
}

export function other(drive: Drive): Drive {
  return drive === 0 ? 1 : 0;
}
