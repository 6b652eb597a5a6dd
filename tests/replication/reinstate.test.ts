/**
 * Reinstate on real folders (spec REPL-3): a replaced drive comes back as passive by a full copy
 * plus the changes made meanwhile, while commits go on; afterwards the folders are
 * byte-identical and stay so; a reinstate that fails or is SIGKILLed halfway leaves an untrusted
 * passive drive and simply runs again.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Database } from '../../src/database/database.js';
import { SopError } from '../../src/errors/sop-error.js';
import { Drives, TempDirs, assertHolds, drivePair, openReplicated, writeItems } from './helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());
const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.join(HERE, '..', '..');

/** A database that failed over from drive a (which died) to b, with some commits on each side of the failover. */
async function failedOver(): Promise<{ pair: { a: string; b: string }; drives: Drives; acked: number[] }> {
  const pair = drivePair(dirs);
  const drives = new Drives();
  const db = await openReplicated(pair, drives);
  const first = await writeItems(db, 0, 5);
  drives.failing.set(pair.a, 'EIO');
  const second = await writeItems(db, 1_000, 5);
  assert.equal(db.replicationStatus()!.active, pair.b);
  await db.close();
  drives.failing.clear();
  return { pair, drives, acked: [...first.acked, ...second.acked] };
}

describe('replication: reinstate (REPL-3)', () => {
  it('a replaced (empty) drive is reinstated: byte-identical, mirrored afterwards, and can take over again', async () => {
    const { pair, drives, acked } = await failedOver();
    fs.rmSync(pair.a, { recursive: true });
    let db = await openReplicated(pair, drives);
    assert.equal(db.replicationStatus()!.passiveState, 'failed');
    const phases = new Set<string>();
    const report = await db.reinstate((p) => phases.add(p.phase));
    assert.equal(report.alreadyInSync, false);
    assert.ok(report.copied > 10 && report.bytes > 0, JSON.stringify(report));
    assert.ok(phases.has('copy'), [...phases].join());
    assert.equal(db.replicationStatus()!.passiveState, 'in-sync');
    assert.deepEqual(await db.compareReplicas(), []);
    const more = await writeItems(db, 2_000, 5);
    assert.deepEqual(await db.compareReplicas(), [], 'mirroring is on again');
    assert.equal((await db.reinstate()).alreadyInSync, true);
    // Now drive b dies: a, reinstated, takes over with everything.
    drives.failing.set(pair.b, 'EIO');
    const last = await writeItems(db, 3_000, 3);
    assert.equal(last.failed, 0);
    assert.equal(db.replicationStatus()!.active, pair.a);
    await db.close();
    drives.failing.clear();
    db = await openReplicated(pair, drives);
    await assertHolds(db, [...acked, ...more.acked, ...last.acked]);
    await db.close();
  });

  it('a drive that came back with a stale copy and stray files is reinstated to an exact copy', async () => {
    const { pair, drives, acked } = await failedOver();
    fs.writeFileSync(path.join(pair.a, 'translogs', 'stray.log'), 'left over');
    fs.mkdirSync(path.join(pair.a, 'stores', 'ghost'), { recursive: true });
    const db = await openReplicated(pair, drives);
    assert.notDeepEqual(await db.compareReplicas(), []);
    await db.reinstate();
    assert.deepEqual(await db.compareReplicas(), []);
    await assertHolds(db, acked);
    await db.close();
  });

  it('commits running during the reinstate are all on both drives afterwards (online)', async () => {
    const { pair, drives, acked } = await failedOver();
    fs.rmSync(pair.a, { recursive: true });
    const db = await openReplicated(pair, drives);
    let stop = false;
    const writer = (async () => {
      const keys: number[] = [];
      for (let round = 0; !stop || round < 3; round++) keys.push(...(await writeItems(db, 10_000 + round * 100, 1, 7)).acked);
      return keys;
    })();
    const report = await db.reinstate();
    stop = true;
    const during = await writer;
    assert.ok(during.length >= 21, `${during.length} keys committed around the reinstate`);
    assert.equal(db.replicationStatus()!.passiveState, 'in-sync');
    assert.deepEqual(await db.compareReplicas(), [], JSON.stringify(report));
    await assertHolds(db, [...acked, ...during]);
    await db.close();
  });

  it('a reinstate that fails halfway (the new drive errs) leaves it untrusted; running it again completes', async () => {
    const { pair, drives, acked } = await failedOver();
    fs.rmSync(pair.a, { recursive: true });
    let db = await openReplicated(pair, drives);
    let writes = 0;
    const plan = drives.fs.plan;
    drives.fs.plan = (call) => (call.path.startsWith(`${pair.a}/stores`) && call.op === 'write' && ++writes === 5 ? Object.assign(new Error('EIO: injected'), { code: 'EIO' }) : plan(call));
    await assert.rejects(db.reinstate(), (e: unknown) => e instanceof SopError && e.code === 'IO');
    drives.fs.plan = plan;
    assert.equal(db.replicationStatus()!.passiveState, 'failed');
    assert.equal(db.replicationStatus()!.active, pair.b);
    await db.close();
    db = await openReplicated(pair, drives);
    await db.reinstate();
    assert.deepEqual(await db.compareReplicas(), []);
    await assertHolds(db, acked);
    await db.close();
  });

  it('a reinstate SIGKILLed mid-copy leaves an untrusted drive; the next one completes (restartable)', async function () {
    this.timeout(120_000);
    const { pair, drives, acked } = await failedOver();
    fs.rmSync(pair.a, { recursive: true });
    const killedAt = await runChildUntil(pair, /^copy (\d+)\/(\d+)$/m, 8);
    assert.ok(killedAt, 'the child reported copy progress before it was killed');
    const db = await openReplicated(pair, drives);
    assert.equal(db.replicationStatus()!.active, pair.b);
    assert.equal(db.replicationStatus()!.passiveState, 'reinstating', 'a half-copied drive is never trusted');
    await db.reinstate();
    assert.deepEqual(await db.compareReplicas(), []);
    await assertHolds(db, acked);
    await db.close();
  });

  it('turning replication on for an existing folder seeds the passive drive at open', async () => {
    const pair = drivePair(dirs);
    let db = await Database.open({ folder: pair.a });
    const { acked } = await writeItems(db, 0, 4);
    await db.close();
    db = await openReplicated(pair);
    assert.equal(db.replicationStatus()!.passiveState, 'in-sync');
    assert.deepEqual(await db.compareReplicas(), []);
    await assertHolds(db, acked);
    await db.close();
  });

  it('reinstate without replication is INVALID_ARGUMENT', async () => {
    const pair = drivePair(dirs);
    const db = await Database.open({ folder: pair.a });
    await assert.rejects(db.reinstate(), (e: unknown) => e instanceof SopError && e.code === 'INVALID_ARGUMENT');
    assert.equal(db.replicationStatus(), null);
    await db.close();
  });
});

/** Runs the reinstate child and SIGKILLs it once its output has `lines` progress lines; returns the last one. */
function runChildUntil(pair: { a: string; b: string }, progress: RegExp, lines: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'reinstate-child.ts'), pair.a, pair.b], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let last: string | null = null;
    let seen = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of out.split('\n').slice(0, -1)) if (progress.test(line)) ((last = line), seen++);
      out = out.slice(out.lastIndexOf('\n') + 1);
      if (seen >= lines) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(last) : reject(new Error(`child exited ${code} before it was killed: ${err}`))));
  });
}
