/**
 * `sop inspect / verify / reinstate` on a replicated database (REPL-1, REPL-3): the status is
 * shown, verify compares the replicas and names a differing file, reinstate brings an emptied
 * drive back and exits 0 only when the replicas are identical.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { sop } from '../ec/cli-helpers.js';
import { Drives, TempDirs, drivePair, openReplicated, writeItems } from './helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());

describe('cli: replication in sop inspect / verify / reinstate (REPL-1, REPL-3)', () => {
  let pair: { a: string; b: string };
  before(async () => {
    pair = drivePair(dirs);
    const drives = new Drives();
    const db = await openReplicated(pair, drives);
    await writeItems(db, 0, 6);
    drives.failing.set(pair.a, 'EIO'); // drive a dies: failover to b
    await writeItems(db, 100, 6);
    await db.close();
  });

  it('inspect on either drive shows the failover; reinstate of the emptied drive makes identical replicas; verify is healthy', () => {
    fs.rmSync(pair.a, { recursive: true });
    const inspect = JSON.parse(sop('inspect', pair.b, '--json').stdout) as { replication: { active: string; passiveState: string; failedOver: boolean }; stores: { name: string; count: number }[] };
    assert.equal(inspect.replication.active, pair.b);
    assert.equal(inspect.replication.passiveState, 'failed');
    assert.equal(inspect.replication.failedOver, true);
    assert.equal(inspect.stores.find((s) => s.name === 'items')?.count, 60);
    const run = sop('reinstate', pair.b);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /files copied/);
    assert.match(run.stdout, /replicas identical/);
    const verify = sop('verify', pair.a);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /replication: active .*drive-b, passive .*drive-a in-sync/);
    assert.equal(sop('reinstate', pair.a, '--json').code, 0);
  });

  it('verify names a replica file that differs and exits 1', () => {
    const segment = fs.readdirSync(pair.a, { recursive: true }).map(String).find((f) => f.startsWith('stores/items/') && f.endsWith('.reg'));
    assert.ok(segment, 'a registry segment exists');
    const file = path.join(pair.a, segment);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const verify = sop('verify', pair.b, '--json');
    assert.equal(verify.code, 1, verify.stdout);
    const report = JSON.parse(verify.stdout) as { healthy: boolean; problems: { problem: string }[] };
    assert.equal(report.healthy, false);
    assert.ok(report.problems.some((p) => p.problem.includes(`${segment}: contents differ`)), verify.stdout);
  });

  it('reinstate of a folder that is not replicated and has no --passive is a usage error', () => {
    const plain = path.join(dirs.make(), 'db');
    fs.mkdirSync(plain);
    const run = sop('reinstate', plain);
    assert.equal(run.code, 2, run.stdout + run.stderr);
  });
});
