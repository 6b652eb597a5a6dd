import { Database } from '../database/database.js';
import { SopError } from '../errors/sop-error.js';
import { UsageError, messageOf, openOptions, parseOpsArgs } from './ops-args.js';

const VALUED = new Set(['--drives', '--data', '--parity', '--passive']);

/** The positional arguments (not options, not option values), and the rest. */
export function splitPositional(args: readonly string[]): { positional: string[]; rest: string[] } {
  const positional: string[] = [];
  const rest: string[] = [];
  args.forEach((a, i) => (!a.startsWith('--') && !VALUED.has(args[i - 1] ?? '') ? positional : rest).push(a));
  return { positional, rest };
}

/**
 * `sop export <folder> <file>`: writes a consistent JSON-lines snapshot of every store of the
 * database (as `db.export`, spec EXP-1). Exit 0 when written, 1 when the export failed (the file
 * is then untouched), 2 on bad arguments or a folder that is not a database. Takes the same
 * --drives/--data/--parity and --passive options as `sop verify` for such folders.
 */
export async function exportCommand(args: readonly string[]): Promise<number> {
  const { positional, rest } = splitPositional(args);
  if (positional.length !== 2) throw new UsageError('expected a database folder and an export file');
  const ops = parseOpsArgs([positional[0]!, ...rest]);
  const db = await Database.open(await openOptions(ops));
  try {
    const report = await db.export(positional[1]!);
    process.stdout.write(ops.json ? `${JSON.stringify(report)}\n` : `exported ${report.stores} stores, ${report.items} items (${report.bytes} bytes) to ${report.file}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`sop export: ${SopError.is(error) ? `${error.code}: ` : ''}${messageOf(error)}\n`);
    return 1;
  } finally {
    await db.close();
  }
}
