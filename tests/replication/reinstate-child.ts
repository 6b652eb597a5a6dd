/**
 * Child process for the reinstate crash test: opens the replicated database given by argv
 * (folder, passive), reinstates, and prints one line per copied file so the parent can
 * SIGKILL it mid-copy. Prints "DONE" when the reinstate finished.
 */
import { Database } from '../../src/database/database.js';

const [folder, passive] = process.argv.slice(2) as [string, string];
const db = await Database.open({ folder, replication: { passive } });
await db.reinstate((p) => process.stdout.write(`${p.phase} ${p.done}/${p.total}\n`));
process.stdout.write('DONE\n');
await db.close();
