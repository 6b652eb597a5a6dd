import { Database } from '../database/database.js';
import { type OpsArgs, messageOf, openOptions, progressLine } from './ops-args.js';
import { replicationLine } from './verify.js';

/**
 * `sop reinstate <folder> [--passive DIR]`: brings the passive folder of a replicated database
 * (a replaced or repaired drive) back into replication (spec REPL-3): full copy, the changes
 * made meanwhile, mirroring on; then compares the two folders. Exit 0 when they are identical.
 * Restartable: after a crash or an error, run it again.
 */
export async function reinstateCommand(args: OpsArgs): Promise<number> {
  const options = await openOptions(args);
  if (!options.replication) {
    process.stderr.write(`sop reinstate: ${args.folder} is not replicated: give --passive DIR\n`);
    return 2;
  }
  const progress = progressLine();
  let db: Database;
  try {
    db = await Database.open(options);
  } catch (error) {
    process.stderr.write(`sop reinstate: cannot open ${args.folder}: ${messageOf(error)}\n`);
    return 1;
  }
  try {
    const report = await db.reinstate((p) => progress.show(`reinstate: ${p.phase} ${p.done}/${p.total}`));
    progress.clear();
    const differences = await db.compareReplicas();
    const status = db.replicationStatus()!;
    if (args.json) {
      const { events: _events, ...summary } = status;
      process.stdout.write(`${JSON.stringify({ ...report, identical: differences.length === 0, differences, replication: summary }, null, 2)}\n`);
    } else {
      const what = report.alreadyInSync ? 'already in sync' : `${report.copied} files copied, ${report.deltas} changed paths re-copied, ${report.bytes} bytes`;
      const lines = [`sop reinstate: ${what}`, replicationLine(status), differences.length === 0 ? 'replicas identical' : `REPLICAS DIFFER: ${differences.slice(0, 20).join('; ')}`];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return differences.length === 0 ? 0 : 1;
  } catch (error) {
    progress.clear();
    process.stderr.write(`sop reinstate: ${messageOf(error)} (run it again to restart the copy)\n`);
    return 1;
  } finally {
    await db.close();
  }
}
