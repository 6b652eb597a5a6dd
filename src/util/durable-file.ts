import type { Env } from '../ports/env.js';
import type { FileSystem } from '../ports/file-system.js';
import { joinPath } from './paths.js';

/** Creates or replaces a file's contents and makes them durable (its folder entry is the caller's). */
export async function writeSynced(fs: FileSystem, path: string, bytes: Uint8Array): Promise<void> {
  const file = await fs.open(path, 'create');
  try {
    await file.truncate(0);
    await file.write(0, bytes);
    await file.datasync();
  } finally {
    await file.close();
  }
}

/**
 * Replaces `dir/name` atomically and durably: write a synced temporary file, rename it over the
 * old one, sync the folder. After a power loss the file holds the old or the new bytes, whole.
 */
export async function replaceDurably(fs: FileSystem, dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const temp = joinPath(dir, `${name}.tmp`);
  await writeSynced(fs, temp, bytes);
  await fs.rename(temp, joinPath(dir, name));
  await fs.syncDir(dir);
}

/** Deletes a file; one that is not there is fine. */
export async function unlinkIfPresent(env: Env, path: string): Promise<void> {
  try {
    await env.fs.unlink(path);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
  }
}

/** A file's bytes, synced first (what a crashed process left may be in the page cache only); null when it is absent. */
export async function readDurablyIfPresent(env: Env, path: string): Promise<Uint8Array | null> {
  let file;
  try {
    file = await env.fs.open(path, 'readWrite');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const bytes = await file.read(0, await file.size());
    await file.datasync();
    return bytes;
  } finally {
    await file.close();
  }
}
