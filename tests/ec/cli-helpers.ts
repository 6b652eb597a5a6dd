/** Running the `sop` command from source, and a small two-store database for it to look at. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Database } from '../../src/index.js';

const root = path.join(import.meta.dirname, '..', '..');

/** Runs `sop <args>` from source, as `npx tsx src/cli/sop.ts` would (without npx's start-up cost). */
export function sop(...args: string[]): { code: number; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/sop.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

/** Two stores: `users` (values in nodes, 40 items) and `vals` (a blob per value, 10 items). */
export async function makeDatabase(folder: string, options: Omit<Parameters<typeof Database.open>[0], 'folder'> = {}): Promise<void> {
  const db = await Database.open({ ...options, folder });
  await db.transaction('write', async (tx) => {
    const users = await db.newBtree<number, string>(tx, 'users', { slotLength: 4 });
    for (let i = 0; i < 40; i++) await users.add(i, `user ${i}`);
    const vals = await db.newBtree<number, string>(tx, 'vals', { slotLength: 8, valueInNode: false });
    for (let i = 0; i < 10; i++) await vals.add(i, 'v'.repeat(i * 50));
  });
  await db.close();
}

/** Every regular file under `dir`, sorted. */
/** The files under a drive or folder, but its lock file (sop.lock, held by whoever opens it: STORE-5). */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f !== 'sop.lock').map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).isFile()).sort();
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
