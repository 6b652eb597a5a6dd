import { realEnv } from '../../adapters/real-env.js';
import type { Database } from '../../database/database.js';
import type { DatabaseOptions } from '../../database/options.js';
import { SopError, invalid } from '../../errors/sop-error.js';
import type { Env } from '../../ports/env.js';
import { absolutePath } from './paths.js';
import { type OpenFolder, importIntoTemp, moveIntoPlace } from './rebuild.js';

/** What `Database.open({ fallback })` did when it rebuilt the folder (`db.restoredFrom`). */
export interface FallbackReport {
  /** The export file the folder was rebuilt from (absolute). */
  readonly file: string;
  /** 'missing': there was no folder (or an empty one); 'unreadable': opening it failed with CORRUPT. */
  readonly reason: 'missing' | 'unreadable';
  /** Where the unreadable folder was kept, renamed (`<folder>.damaged-<n>`); never deleted. */
  readonly damagedFolder?: string;
  /** Why the folder was unreadable (the CORRUPT error's message). */
  readonly error?: string;
  readonly stores: number;
  readonly items: number;
}

/**
 * `Database.open({ folder, fallback })`: opens the folder; when it is missing (or empty) or
 * opening it fails with CORRUPT, rebuilds it from the export file `fallback`: import into a
 * temporary folder, keep the damaged folder aside under a new name, rename the import into
 * place, open it, and say so in `db.restoredFrom` (spec EXP-2). Other failures (IO, a bad
 * option) are not healed by a rebuild and are thrown. Standalone folders with local blobs only:
 * erasure-coded shards and a replica live outside the folder and would not be rebuilt with it.
 */
export async function openWithFallback(options: DatabaseOptions, openWithout: OpenFolder): Promise<Database> {
  const file = options.fallback;
  if (typeof file !== 'string' || file.length === 0) throw invalid('fallback must be the path of an export file');
  if (options.mode === 'clustered' || options.erasureCoding || options.replication) {
    throw invalid('fallback rebuilds standalone folders with local blobs only (not clustered, erasureCoding or replication)');
  }
  if (typeof options.folder !== 'string' || options.folder.length === 0) throw invalid('options.folder must be a non-empty string');
  const plain: DatabaseOptions = { ...options };
  delete plain.fallback;
  const env = options.env ?? realEnv();
  const folder = absolutePath(options.folder);
  let damage: SopError | null = null;
  if (!(await isMissing(env, folder))) {
    try {
      return await openWithout(plain);
    } catch (error) {
      if (!SopError.is(error, 'CORRUPT')) throw error;
      damage = error;
    }
  }
  return rebuild(env, absolutePath(file), folder, plain, openWithout, damage);
}

async function rebuild(env: Env, file: string, folder: string, plain: DatabaseOptions, open: OpenFolder, damage: SopError | null): Promise<Database> {
  const { temp, report } = await importIntoTemp(env, file, folder, open, plain.registryHashMod);
  let damagedFolder: string | undefined;
  if (damage) {
    damagedFolder = await freeName(env, `${folder}.damaged-`);
    await env.fs.rename(folder, damagedFolder);
  } else if (await env.fs.stat(folder)) {
    await env.fs.removeTree(folder); // an empty folder (isMissing): nothing in it to keep
  }
  await moveIntoPlace(env, temp, folder);
  const db = await open(plain);
  // A public field of Database (declared there); set through this view so this file builds on its own.
  (db as { restoredFrom?: FallbackReport | null }).restoredFrom = {
    file, reason: damage ? 'unreadable' : 'missing', stores: report.stores, items: report.items,
    ...(damagedFolder ? { damagedFolder, error: damage!.message } : {}),
  };
  return db;
}

/** No folder, or an empty one: nothing to open, nothing to keep. */
async function isMissing(env: Env, folder: string): Promise<boolean> {
  const stat = await env.fs.stat(folder);
  if (!stat) return true;
  return stat.isDirectory && (await env.fs.readdir(folder)).length === 0;
}

async function freeName(env: Env, prefix: string): Promise<string> {
  for (let n = 1; ; n++) if (!(await env.fs.stat(`${prefix}${n}`))) return `${prefix}${n}`;
}
