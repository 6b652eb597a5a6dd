import type { Database } from '../../database/database.js';
import type { DatabaseOptions } from '../../database/options.js';
import type { Env } from '../../ports/env.js';
import { type ImportReport, importDatabase } from './import.js';
import { baseOf, parentOf } from './paths.js';

/** Opens a folder without the fallback (Database.open). */
export type OpenFolder = (options: DatabaseOptions) => Promise<Database>;

const IMPORTING = '.importing-';

/**
 * Imports `file` into a fresh folder next to `folder` (`<folder>.importing-<id>`) and closes it.
 * Nothing is half imported where anyone looks: the caller renames the result into place only
 * when the whole file went in; a failed import removes its folder (spec EXP-3).
 */
export async function importIntoTemp(env: Env, file: string, folder: string, open: OpenFolder, registryHashMod?: number): Promise<{ temp: string; report: ImportReport }> {
  await clearStaleImports(env, folder);
  const temp = `${folder}${IMPORTING}${env.random.uuid()}`;
  try {
    const db = await open({ folder: temp, env, ...(registryHashMod === undefined ? {} : { registryHashMod }) });
    try {
      return { temp, report: await importDatabase(db, file) };
    } finally {
      await db.close();
    }
  } catch (error) {
    await env.fs.removeTree(temp).catch(() => undefined); // a leftover temporary folder is removed by the next import (below)
    throw error;
  }
}

/** Moves a finished import into place (`folder` must not exist) durably. */
export async function moveIntoPlace(env: Env, temp: string, folder: string): Promise<void> {
  await env.fs.rename(temp, folder);
  await env.fs.syncDir(parentOf(folder));
}

/** Imports that died before their rename (a crash) hold only copied data: they are deleted. */
async function clearStaleImports(env: Env, folder: string): Promise<void> {
  const parent = parentOf(folder);
  const prefix = `${baseOf(folder)}${IMPORTING}`;
  const entries = await env.fs.readdir(parent).catch(() => [] as string[]); // no parent folder: nothing left over
  for (const entry of entries) if (entry.startsWith(prefix)) await env.fs.removeTree(`${parent}/${entry}`);
}
