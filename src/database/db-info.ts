import { BlockKind, decodeJsonFrame, encodeJsonFrame } from '../codec/frame.js';
import { corrupt, invalid } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import { replaceDurably } from '../util/durable-file.js';
import { joinPath } from '../util/paths.js';

/** `<folder>/sop.db`: what is fixed when a folder becomes a database (format, registry geometry). */
export interface DbInfo {
  readonly format: 1;
  readonly hashMod: number;
  readonly createdAt: number;
}

export async function loadOrCreateDbInfo(env: Env, folder: string, hashMod: number | undefined, fallback: number): Promise<DbInfo> {
  const path = joinPath(folder, 'sop.db');
  if (await env.fs.stat(path)) {
    const info = decode(await env.fs.readFile(path), path);
    if (hashMod !== undefined && hashMod !== info.hashMod) {
      throw invalid(`registryHashMod ${hashMod} contradicts the folder's ${info.hashMod}, fixed when it was created`);
    }
    return info;
  }
  const info: DbInfo = { format: 1, hashMod: hashMod ?? fallback, createdAt: env.clock.now() };
  await replaceDurably(env.fs, folder, 'sop.db', encodeJsonFrame(BlockKind.DbInfo, info));
  return info;
}

function decode(bytes: Uint8Array, where: string): DbInfo {
  const raw = decodeJsonFrame<DbInfo>(bytes, BlockKind.DbInfo, where);
  if (raw?.format !== 1 || !Number.isInteger(raw.hashMod) || raw.hashMod < 1) throw corrupt(`${where}: malformed database info`);
  return raw;
}
