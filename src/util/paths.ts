import { invalid } from '../errors/sop-error.js';

/** Joins path segments with '/'. Segments come from validated names or engine constants only. */
export function joinPath(...parts: string[]): string {
  return parts.join('/').replace(/\/+/g, '/');
}

export function parentDir(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

const STORE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;
/** A layer's auxiliary B-tree: its store's name, '@', and a short part name (never a user name). */
const PART_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}@[a-z0-9]{1,15}$/;

/**
 * Store names become folder names, so they are restricted to a portable alphabet: no '/',
 * '\\', '..', leading dots or control characters can reach the filesystem (spec STORE-4).
 */
export function validateStoreName(name: unknown): string {
  if (typeof name !== 'string' || !STORE_NAME.test(name) || name.includes('..')) {
    throw invalid(
      `invalid store name ${JSON.stringify(name)}: use 1-100 characters from A-Z a-z 0-9 _ . - , not starting with '.' or '-', without '..'`,
    );
  }
  return name;
}

/** The name of a layer's auxiliary B-tree: `<store>@<part>`; users cannot name a store with '@'. */
export function partStoreName(store: string, part: string): string {
  return validateStoredName(`${validateStoreName(store)}@${part}`);
}

/** A store name read back from disk or a record: a user name or a layer part name (spec STORE-4). */
export function validateStoredName(name: unknown): string {
  if (typeof name === 'string' && PART_NAME.test(name) && !name.includes('..')) return name;
  return validateStoreName(name);
}

/** Whether a name read back from disk is a valid store or part name (the failure is the answer). */
export function isStoredName(name: unknown): boolean {
  try {
    validateStoredName(name);
    return true;
  } catch {
    return false;
  }
}

/** Minimal FileSystem surface needed by ensureDurableDir (kept structural to avoid a cycle). */
interface DirFs {
  stat(path: string): Promise<{ isDirectory: boolean } | null>;
  mkdir(path: string): Promise<void>;
  syncDir(path: string): Promise<void>;
}

/**
 * Creates a folder and any missing parents so that they survive a power loss: each new entry
 * is made durable by syncing the folder that holds it (spec STORE-1).
 */
export async function ensureDurableDir(fs: DirFs, path: string): Promise<void> {
  const parts = path.split('/').filter((p) => p.length > 0);
  let current = '';
  for (const part of parts) {
    const parent = current || '/';
    current = `${current}/${part}`;
    if (await fs.stat(current)) continue;
    await fs.mkdir(current);
    await fs.syncDir(parent);
  }
}

/** A transaction's step log in `translogs/` (src/txn/logs.ts; journal replay deletes those of the commits it replays). */
export function logPath(dir: string, tid: string): string {
  return joinPath(dir, `${tid}.log`);
}

/** A transaction's priority log in `translogs/` (src/txn/logs.ts). */
export function plgPath(dir: string, tid: string): string {
  return joinPath(dir, `${tid}.plg`);
}

/**
 * Clustered: the mark a committer leaves once it has redone a dead transaction's priority log
 * durably (src/txn/cluster-recovery.ts). A priority log with this mark is never redone again:
 * a later commit may have removed what it added (spec CLU-5, STRUCT-2; seed 976556146).
 */
export function redonePath(dir: string, tid: string): string {
  return joinPath(dir, `${tid}.redone`);
}

/** The lock file at the root of the folder and of every drive a database writes (never copied between drives). */
export const LOCK_FILE = 'sop.lock';
