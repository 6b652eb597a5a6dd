import { Database } from '../database/database.js';
import { type OpsArgs, messageOf, openOptions, progressLine } from './ops-args.js';

/**
 * `sop repair <folder> [--drives a,b,c --data D --parity P]`: opens the database (recovery
 * runs), then rebuilds every missing or corrupt erasure-coded shard (spec EC-3) with a progress
 * line. Exit 0 when every blob has full redundancy again, 1 when some could not be repaired.
 */
export async function repair(args: OpsArgs): Promise<number> {
  const options = await openOptions(args);
  const progress = progressLine();
  let db: Database;
  try {
    db = await Database.open(options);
  } catch (error) {
    process.stderr.write(`sop repair: cannot open ${args.folder}: ${messageOf(error)}\n`);
    return 1;
  }
  try {
    const report = await db.repair((store, done, total) => progress.show(`repair: store ${store}: blob ${done}/${total}`));
    progress.clear();
    const healthy = report.unrecoverable === 0 && report.unwritable === 0;
    const text = args.json
      ? JSON.stringify({ ...report, healthy }, null, 1)
      : `sop repair: ${report.blobs} blobs examined, ${report.shardsRewritten} shards rebuilt, ${report.unrecoverable} unrecoverable, ${report.unwritable} not writable${args.erasureCoding ? '' : ' (no erasure coding: nothing to rebuild)'}`;
    process.stdout.write(`${text}\n`);
    return healthy ? 0 : 1;
  } finally {
    await db.close();
  }
}
