import { BlockKind, decodeFrame, encodeFrame } from '../codec/frame.js';
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

const TEXT = new TextEncoder();
const UTF8 = new TextDecoder('utf-8', { fatal: true });

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
  await replaceDurably(env.fs, folder, 'sop.db', encodeFrame(BlockKind.DbInfo, TEXT.encode(JSON.stringify(info))));
  return info;
}

function decode(bytes: Uint8Array, where: string): DbInfo {
  let raw: DbInfo;
  try {
    raw = JSON.parse(UTF8.decode(decodeFrame(bytes, BlockKind.DbInfo, where))) as DbInfo;
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof TypeError) throw corrupt(`${where}: not valid JSON`);
    throw error;
  }
  if (raw?.format !== 1 || !Number.isInteger(raw.hashMod) || raw.hashMod < 1) throw corrupt(`${where}: malformed database info`);
  return raw;
}
