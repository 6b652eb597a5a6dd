import { resolve } from 'node:path';
import { realEnv } from '../adapters/real-env.js';
import { Database } from '../database/database.js';
import { SopError } from '../errors/sop-error.js';
import { importIntoTemp, moveIntoPlace } from '../layers/export/index.js';
import { splitPositional } from './export.js';
import { UsageError, messageOf } from './ops-args.js';

/**
 * `sop import <file> <folder>`: builds a new database folder from an export file. The folder
 * must not exist (or be empty); the import goes into a temporary folder renamed into place only
 * when the whole file went in, so a malformed file (reported with its line, CORRUPT) leaves
 * nothing behind (spec EXP-3). Exit 0 when imported, 1 when the import failed, 2 on bad arguments.
 */
export async function importCommand(args: readonly string[]): Promise<number> {
  const { positional, rest } = splitPositional(args);
  if (positional.length !== 2 || rest.some((a) => a !== '--json')) throw new UsageError('expected an export file and a new database folder');
  const env = realEnv();
  const folder = resolve(positional[1]!).replace(/\\/g, '/');
  const stat = await env.fs.stat(folder);
  if (stat && !(stat.isDirectory && (await env.fs.readdir(folder)).length === 0)) throw new UsageError(`${folder} exists and is not an empty folder`);
  try {
    const { temp, report } = await importIntoTemp(env, positional[0]!, folder, (options) => Database.open(options));
    if (stat) await env.fs.removeTree(folder); // the empty folder checked above
    await moveIntoPlace(env, temp, folder);
    process.stdout.write(rest.includes('--json') ? `${JSON.stringify({ ...report, folder })}\n` : `imported ${report.stores} stores, ${report.items} items from ${report.file} into ${folder}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`sop import: ${SopError.is(error) ? `${error.code}: ` : ''}${messageOf(error)}\n`);
    return 1;
  }
}
