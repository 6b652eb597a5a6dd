/**
 * A clustered process that dies in the middle of a commit (tests/cluster/dead-process.test.ts):
 * opens SOP_FOLDER through SOP_REDIS with default options, then changes key 1 of store 'kv'
 * (and adds key SOP_TAG) in one transaction and SIGKILLs itself at crash point SOP_DIE_AT,
 * holding its item, node and liveness locks (their TTL: the default maxTimeMs, 15 min).
 */
import { Database, realEnv } from '../../src/index.js';

const point = process.env.SOP_DIE_AT!;
const env = {
  ...realEnv(),
  point: (name: string) => {
    if (name !== point) return;
    process.stdout.write(`dying at ${name}\n`);
    process.kill(process.pid, 'SIGKILL');
    return new Promise<void>(() => undefined);
  },
};
// The env supplies the Coordinator: connect it the way Database.open would.
const { RedisCoordinator } = await import('../../src/adapters/redis-coordinator.js');
const coordinator = await RedisCoordinator.connect(process.env.SOP_REDIS!);
const db = await Database.open({ folder: process.env.SOP_FOLDER!, mode: 'clustered', env: { ...env, coordinator } });
await db.transaction('write', async (tx) => {
  const kv = await db.openBtree<number | string, string>(tx, 'kv');
  await kv.update(1, `dead ${process.env.SOP_TAG}`);
  await kv.add(process.env.SOP_TAG!, 'dead');
}, { retries: 10_000 }); // a lock the previous child left is taken over once its death is known (CLU-6)
process.stdout.write('committed without dying\n');
