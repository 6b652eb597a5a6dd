import type { FileSystem } from '../ports/file-system.js';
import { writeSynced } from '../util/durable-file.js';
import { joinPath, parentDir } from '../util/paths.js';

/**
 * Copies one file's bytes over `to`, durably, keeping `to`'s inode when it exists (truncate and
 * write, then datasync). Returns the bytes copied; a source that vanished copies as a removal.
 */
export async function copyFileDurably(fs: FileSystem, from: string, to: string): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = await readStable(fs, from);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
    await removeOn(fs, to, true);
    return 0;
  }
  await copyBytesDurably(fs, to, bytes);
  return bytes.length;
}

/**
 * A file's bytes as two reads in a row agree on them. A copy is trusted as the replica from then
 * on, and a read can return flipped bits in transit (the engine rereads what fails its
 * checksum; a copier cannot tell, least of all for files that carry no whole-file checksum):
 * the simulator's transient bit rot once put such bytes on the passive drive. Up to 5 reads;
 * reads that never agree fail with EIO (the drive is unreliable).
 */
export async function readStable(fs: FileSystem, path: string): Promise<Uint8Array> {
  let last = await fs.readFile(path);
  for (let attempt = 0; attempt < 4; attempt++) {
    const again = await fs.readFile(path);
    if (equal(again, last)) return again;
    last = again;
  }
  throw Object.assign(new Error(`EIO: ${path} reads back different bytes every time`), { code: 'EIO', unstable: true });
}

/** Overwrites `to` with `bytes` in place (same inode when it exists) and makes them durable: the engine's own synced write. */
export const copyBytesDurably: (fs: FileSystem, to: string, bytes: Uint8Array) => Promise<void> = writeSynced;

/** Removes a file or a folder tree when present; `sync` also makes the removal durable. */
export async function removeOn(fs: FileSystem, path: string, sync = false): Promise<void> {
  const stat = await fs.stat(path);
  if (!stat) return;
  if (stat.isDirectory) await fs.removeTree(path);
  else await fs.unlink(path).catch((error: { code?: string }) => (error?.code === 'ENOENT' ? undefined : Promise.reject(error)));
  if (sync) await fs.syncDir(parentDir(path));
}

/** Every difference between two trees (missing, extra, different bytes), as relative paths; `skip` names ignored at the root. */
export async function compareTrees(fs: FileSystem, a: string, b: string, skip: ReadonlySet<string> = new Set()): Promise<string[]> {
  return (await diffTrees(fs, a, b, skip)).differences.map((d) => `${d.path}: ${d.message}`);
}

/**
 * What one walk of two trees found, as relative paths: every difference (the topmost path that
 * differs, and what differs), and what the trees share (files with equal bytes, folders on both
 * sides, '' for the roots, each listed before its subfolders), so a caller that must act on the
 * shared part need not walk again.
 */
export interface TreeDiff {
  readonly differences: Array<{ path: string; message: string }>;
  readonly equalFiles: string[];
  readonly sharedFolders: string[];
}

/** Walks two trees once, comparing them; `skip` names ignored at the root (drive files). */
export async function diffTrees(fs: FileSystem, a: string, b: string, skip: ReadonlySet<string> = new Set()): Promise<TreeDiff> {
  const diff: TreeDiff = { differences: [], equalFiles: [], sharedFolders: [] };
  const walk = async (rel: string): Promise<void> => {
    diff.sharedFolders.push(rel);
    const [left, right] = [await listing(fs, joinPath(a, rel)), await listing(fs, joinPath(b, rel))];
    const names = [...new Set([...left.keys(), ...right.keys()])].sort();
    for (const name of names) {
      if (rel === '' && skip.has(name)) continue;
      const path = rel === '' ? name : `${rel}/${name}`;
      const [l, r] = [left.get(name), right.get(name)];
      if (l === undefined || r === undefined) diff.differences.push({ path, message: `only in ${l === undefined ? b : a}` });
      else if (l !== r) diff.differences.push({ path, message: `a ${l ? 'folder' : 'file'} in ${a}, a ${r ? 'folder' : 'file'} in ${b}` });
      else if (l) await walk(path);
      else if (equal(await fs.readFile(joinPath(a, path)), await fs.readFile(joinPath(b, path)))) diff.equalFiles.push(path);
      else diff.differences.push({ path, message: 'contents differ' });
    }
  };
  await walk('');
  return diff;
}

/** name → is a folder. */
async function listing(fs: FileSystem, dir: string): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return out;
    throw error;
  }
  for (const name of names) {
    const stat = await fs.stat(joinPath(dir, name));
    if (stat) out.set(name, stat.isDirectory);
  }
  return out;
}

export function equal(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
