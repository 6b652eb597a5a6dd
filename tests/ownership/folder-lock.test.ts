/**
 * A standalone database owns its folder and drives (STORE-5). Found from outside on a887733:
 * two standalone processes opened one folder and both committed. Now the second opener gets
 * UNAVAILABLE naming the holder, a crashed holder leaves no lock behind, and clustered
 * processes (which share the folder) exclude a standalone opener.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryCoordinator } from '../../src/adapters/memory-coordinator.js';
import { realEnv } from '../../src/adapters/real-env.js';
import { Database } from '../../src/database/database.js';
import { SopError } from '../../src/errors/sop-error.js';
import { TempDirs } from '../ec/helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());
const HOLDER = fileURLToPath(new URL('./holder.ts', import.meta.url));

const refusedBy = (pattern: RegExp) => (e: unknown): boolean => SopError.is(e, 'UNAVAILABLE') && pattern.test((e as Error).message);

/** Starts a holder process and resolves once it has the database open. */
async function holder(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER], { env: { ...process.env, ...env, NODE_V8_COVERAGE: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => ((out += d.toString()), out.includes('open\n') && resolve()));
    child.on('exit', (code) => reject(new Error(`holder exited ${code}: ${err}`)));
  });
  return child;
}

async function killed(child: ChildProcess): Promise<void> {
  const exit = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exit;
}

describe('folder ownership (STORE-5)', () => {
  it('a second standalone open of one folder in the same process is refused, naming the holder; after close it opens', async () => {
    const folder = dirs.make('sop-own-');
    const first = await Database.open({ folder });
    await assert.rejects(Database.open({ folder }), refusedBy(/in use: another database holds it \(pid \d+ on .+standalone/));
    await first.close();
    const second = await Database.open({ folder });
    await second.close();
  });

  it('another process holding the folder refuses this one with its pid; once it is SIGKILLed the folder opens and holds its commits', async () => {
    const folder = dirs.make('sop-own-');
    const child = await holder({ SOP_FOLDER: folder });
    try {
      await assert.rejects(Database.open({ folder }), refusedBy(new RegExp(`pid ${child.pid} on `)));
    } finally {
      await killed(child);
    }
    const db = await Database.open({ folder }); // a crash leaves no stale lock
    assert.deepEqual((await db.listStores()).map((s) => s.name), ['held']);
    await db.close();
  });

  it('the passive replication drive is owned too: another database cannot open it as its folder', async () => {
    const root = dirs.make('sop-own-');
    const [a, b] = [path.join(root, 'a'), path.join(root, 'b')];
    const db = await Database.open({ folder: a, replication: { passive: b } });
    await assert.rejects(Database.open({ folder: b }), refusedBy(/in use/));
    await assert.rejects(Database.open({ folder: path.join(root, 'c'), replication: { passive: b } }), refusedBy(/in use/));
    await db.close();
    assert.ok(fs.existsSync(path.join(b, 'sop.lock')));
  });

  it('erasure-coding drives are owned too', async () => {
    const root = dirs.make('sop-own-');
    const drives = [0, 1, 2].map((i) => path.join(root, `d${i}`));
    const db = await Database.open({ folder: path.join(root, 'x'), erasureCoding: { dataShards: 2, parityShards: 1, drives } });
    await assert.rejects(Database.open({ folder: path.join(root, 'y'), erasureCoding: { dataShards: 2, parityShards: 1, drives } }), refusedBy(/d0 is in use/));
    await db.close();
  });

  it('clustered processes share the folder and exclude a standalone opener, and the other way round', async () => {
    const folder = dirs.make('sop-own-');
    const env = realEnv();
    const coordinator = new MemoryCoordinator(env.clock, env.random);
    const c1 = await Database.open({ folder, mode: 'clustered', env: { ...env, coordinator } });
    const c2 = await Database.open({ folder, mode: 'clustered', env: { ...realEnv(), coordinator } });
    await assert.rejects(Database.open({ folder }), refusedBy(/in use: another database holds it \(clustered processes/));
    await c1.close();
    await c2.close();
    const standalone = await Database.open({ folder });
    await assert.rejects(Database.open({ folder, mode: 'clustered', env: { ...env, coordinator } }), refusedBy(/a standalone database holds it/));
    await standalone.close();
  });
});
