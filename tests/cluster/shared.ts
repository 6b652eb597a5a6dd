/** Constants and helpers shared by the multi-process test, its workers and benchmarks/cluster.ts. */
import { spawn } from 'node:child_process';
import type { DatabaseOptions } from '../../src/index.js';

export const ACCOUNTS = 12;
export const INITIAL = 1000;
export const LIST_KEYS = 6;

/**
 * Every process opens the folder with these: the default lock TTLs (maxTimeMs, 15 min),
 * liveness and sweep cadence, so a SIGKILLed process's locks are freed by CLU-6, not by a
 * short TTL; only Redis timeouts are short, so a restarted Redis is noticed soon.
 */
export const clusterOptions: Omit<DatabaseOptions, 'folder'> = {
  mode: 'clustered',
  registryHashMod: 16,
  redisOptions: { connectTimeoutMs: 500, commandTimeoutMs: 1_000 },
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

/** Starts tests/cluster/worker.ts as a child process and hands each JSON line it prints to `onEvent`. */
export function spawnWorker(env: NodeJS.ProcessEnv, onEvent: (event: Record<string, unknown>) => void): import('node:child_process').ChildProcess {
  const repo = new URL('../..', import.meta.url).pathname;
  const worker = new URL('./worker.ts', import.meta.url).pathname;
  const proc = spawn(process.execPath, ['--import', 'tsx', worker], { env: { ...process.env, ...env }, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let buffer = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) if (line) onEvent(JSON.parse(line) as Record<string, unknown>);
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => process.stderr.write(`      [worker ${env.SOP_WORKER ?? '?'}] ${chunk}`));
  return proc;
}
