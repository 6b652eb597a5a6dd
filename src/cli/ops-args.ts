import { resolve } from 'node:path';
import { NodeFileSystem } from '../adapters/node-file-system.js';
import type { DatabaseOptions } from '../database/options.js';
import { readStatus } from '../replication/status.js';
import { joinPath } from '../util/paths.js';

/** What `sop verify` and `sop inspect` take: a database folder, --json, and the erasure coding it was opened with. */
export interface OpsArgs {
  readonly folder: string;
  readonly json: boolean;
  readonly erasureCoding?: { dataShards: number; parityShards: number; drives: string[] };
  /** Replication's passive folder (--passive); found from the folder's replication status when omitted. */
  readonly passive?: string;
}

/** A bad command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}

const VALUED = new Set(['--drives', '--data', '--parity', '--passive']);

export function parseOpsArgs(args: readonly string[]): OpsArgs {
  const positional = args.filter((a, i) => !a.startsWith('--') && !VALUED.has(args[i - 1] ?? ''));
  if (positional.length !== 1) throw new UsageError('expected exactly one database folder');
  const value = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`--${name} needs a value`);
    return v;
  };
  const drives = value('drives');
  const data = value('data');
  const parity = value('parity');
  const folder = resolve(positional[0]!).replace(/\\/g, '/');
  const passive = value('passive');
  const base = { folder, json: args.includes('--json'), ...(passive === undefined ? {} : { passive: resolve(passive).replace(/\\/g, '/') }) };
  if (drives === undefined && data === undefined && parity === undefined) return base;
  if (drives === undefined || data === undefined || parity === undefined) throw new UsageError('erasure coding needs all of --drives a,b,c --data D --parity P');
  return {
    ...base,
    // Validated by the engine when the database opens (INVALID_ARGUMENT).
    erasureCoding: { dataShards: Number(data), parityShards: Number(parity), drives: drives.split(',').map((d) => resolve(d).replace(/\\/g, '/')) },
  };
}

/** Refuses a folder that is not a sop-ts database: opening one would create it. */
export async function requireDatabase(folder: string): Promise<void> {
  if (!(await new NodeFileSystem().stat(joinPath(folder, 'sop.db')))) throw new UsageError(`${folder} is not a sop-ts database (no sop.db)`);
}

/**
 * The options to open the database the command line names. With replication the folder given
 * may be either drive: its replication status names both (drive 0 is the database folder), so
 * `sop inspect /mnt/b` works after a failover, and an emptied drive needs --passive.
 */
export async function openOptions(args: OpsArgs): Promise<DatabaseOptions> {
  const ec = args.erasureCoding ? { erasureCoding: args.erasureCoding } : {};
  const fs = new NodeFileSystem();
  const candidates = [args.folder, ...(args.passive ? [args.passive] : [])];
  for (const root of candidates) {
    const reading = await readStatus(fs, root);
    if (reading.status) return { folder: reading.status.drives[0], replication: { passive: reading.status.drives[1] }, ...ec };
  }
  for (const root of candidates) if (await fs.stat(joinPath(root, 'sop.db'))) return { folder: args.folder, ...(args.passive ? { replication: { passive: args.passive } } : {}), ...ec };
  throw new UsageError(`${candidates.join(' or ')}: not a sop-ts database (no sop.db, no replication status)`);
}

/** A one-line progress display on stderr, only when it is a terminal. */
export function progressLine(): { show(text: string): void; clear(): void } {
  const tty = process.stderr.isTTY === true;
  let shown = false;
  return {
    show(text) {
      if (!tty) return;
      process.stderr.write(`\r\x1b[2K${text}`);
      shown = true;
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[2K');
      shown = false;
    },
  };
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
