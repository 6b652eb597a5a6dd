/** Constants shared by the multi-process test and its workers. */
import type { DatabaseOptions } from '../../src/index.js';

export const ACCOUNTS = 12;
export const INITIAL = 1000;
export const LIST_KEYS = 6;

/** Every process opens the folder with these (short timeouts so SIGKILLed locks free up soon). */
export const clusterOptions: Omit<DatabaseOptions, 'folder'> = {
  mode: 'clustered',
  registryHashMod: 16,
  clusterGraceMs: 3_000,
  redisOptions: { connectTimeoutMs: 500, commandTimeoutMs: 1_000 },
  maintenance: { sweepIntervalMs: 2_000, busySweepIntervalMs: 1_000 },
};

/** Creates the workload's stores: the bank accounts, the lists and the marks of each append. */
export async function createStores(db: import('../../src/index.js').Database): Promise<void> {
  await db.transaction('write', async (tx) => {
    const bank = await db.newBtree<number, number>(tx, 'bank', { slotLength: 4 });
    for (let a = 0; a < ACCOUNTS; a++) await bank.add(a, INITIAL);
    await db.newBtree<number, string[]>(tx, 'lists', { slotLength: 4, valueInNode: false });
    await db.newBtree<string, number>(tx, 'marks', { slotLength: 8 });
  });
}
