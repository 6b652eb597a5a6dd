/** A child process that opens a database (env SOP_FOLDER, SOP_PASSIVE?, SOP_MODE?) and says so, then waits to be killed. */
import { Database } from '../../src/index.js';

const folder = process.env.SOP_FOLDER!;
const passive = process.env.SOP_PASSIVE;
const db = await Database.open({ folder, ...(passive ? { replication: { passive } } : {}) });
await db.transaction('write', async (tx) => void (await db.newBtree(tx, 'held', {})));
process.stdout.write('open\n');
setInterval(() => undefined, 1 << 30); // held until SIGKILL
