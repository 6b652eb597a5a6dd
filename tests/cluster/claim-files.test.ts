/**
 * Storage-anchored claims (spec CLU-2, CLU-3): exclusive while held, released after the task
 * (also when it fails), a claim left by a dead process is taken over only after a waiter saw it
 * unchanged for CLAIM_STALE_MS on its own monotonic clock, and a wall clock jumped far ahead
 * does not make a live claim look stale.
 */
import type { ClusterWait } from '../../src/cluster/wait.js';
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLAIM_STALE_MS, withClaimFiles } from '../../src/cluster/claim-files.js';
import { SystemClock, realEnv } from '../../src/index.js';
import { FakeClock } from '../hazards/helpers.js';

/** A waiter that knows no dead process: only the staleness rule breaks a claim. */
const WAIT: ClusterWait = { processId: 'p-test', isDeadOwner: async () => false };

describe('claim files (CLU-2, CLU-3)', () => {
  let dir: string;
  beforeEach(() => (dir = join(mkdtempSync(join(tmpdir(), 'sop-claims-')), 'claims')));
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('CLU-2: two holders of one claim never overlap; the claim is gone afterwards, also after a failed task', async () => {
    const env = realEnv();
    let inside = 0;
    let most = 0;
    const task = async (): Promise<void> => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((r) => setTimeout(r, 5));
      inside--;
    };
    await Promise.all(Array.from({ length: 6 }, () => withClaimFiles(env, dir, ['sector-1', 'count'], WAIT, task)));
    assert.equal(most, 1);
    await assert.rejects(withClaimFiles(env, dir, ['sector-1'], WAIT, async () => { throw new Error('task failed'); }), /task failed/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('CLU-2: a dead holder\'s claim is taken over after CLAIM_STALE_MS of watching, not before', async () => {
    mkdirSync(dir);
    writeFileSync(join(dir, 'sector-3.claim'), ''); // left by a killed process
    const clock = new FakeClock();
    const env = { ...realEnv(), clock };
    let ran = false;
    await withClaimFiles(env, dir, ['sector-3'], WAIT, async () => {
      ran = true;
      assert.ok(clock.monotonic() - 1_000 > CLAIM_STALE_MS, `taken over after ${clock.monotonic() - 1_000} ms of watching`);
    });
    assert.ok(ran);
    assert.ok(!existsSync(join(dir, 'sector-3.claim')));
  });

  it('CLU-2: a wall clock far ahead of the file times does not make a live claim stale', async () => {
    const real = new SystemClock();
    // This host's wall clock jumped a day ahead; its monotonic clock did not.
    const clock = { now: () => real.now() + 24 * 3_600_000, monotonic: () => real.monotonic(), sleep: (ms: number, signal?: AbortSignal) => real.sleep(ms, signal) };
    const env = { ...realEnv(), clock };
    let order = '';
    let inside!: () => void;
    const holding = new Promise<void>((r) => (inside = r));
    const holder = withClaimFiles(realEnv(), dir, ['count'], WAIT, async () => {
      order += 'A';
      inside();
      await new Promise((r) => setTimeout(r, 30));
      order += 'a';
    });
    // Wait until the holder holds its claim (a fixed 5 ms sleep lost that race on a loaded CI machine: 'BAa').
    await holding;
    await withClaimFiles(env, dir, ['count'], WAIT, async () => void (order += 'B'));
    await holder;
    assert.equal(order, 'AaB');
  });
});
