/**
 * Storage-anchored claims (spec CLU-2, CLU-3): exclusive while held, released after the task
 * (also when it fails), a claim left by a dead process is taken over only after a waiter saw it
 * unchanged for CLAIM_STALE_MS on its own monotonic clock, and a wall clock jumped far ahead
 * does not make a live claim look stale.
 */
import type { ClusterWait } from '../../src/cluster/wait.js';
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLAIM_STALE_MS, withClaimFiles } from '../../src/cluster/claim-files.js';
import { crc32 } from '../../src/codec/crc32.js';
import { SopError, SystemClock, realEnv } from '../../src/index.js';
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

  it('CLU-6: a claim naming a dead process is taken over at once; one whose CRC fails (bit rot) only goes stale', async () => {
    const dead = 'tx-1@p-dead';
    const wait: ClusterWait = { processId: 'p-test', isDeadOwner: async (owner) => owner === dead };
    const clock = new FakeClock();
    const env = { ...realEnv(), clock };
    const claim = (owner: string): string => `${owner}#${crc32(new TextEncoder().encode(owner)).toString(16)}`;
    mkdirSync(dir);
    writeFileSync(join(dir, 'sector-1.claim'), claim(dead));
    let start = clock.monotonic();
    await withClaimFiles(env, dir, ['sector-1'], wait, async () => {
      assert.ok(clock.monotonic() - start < CLAIM_STALE_MS, `taken over after ${clock.monotonic() - start} ms`);
      assert.match(readFileSync(join(dir, 'sector-1.claim'), 'utf8'), /^[^#]+@p-test#[0-9a-f]+$/, 'a claim names its owner with a CRC');
    });
    // Rot turned a live owner's bytes into the dead one's name: the CRC no longer checks, so the
    // claim names nobody and must not be broken as a dead process's.
    writeFileSync(join(dir, 'sector-2.claim'), claim('tx-1@p-deaf').replace('p-deaf', 'p-dead'));
    start = clock.monotonic();
    await withClaimFiles(env, dir, ['sector-2'], wait, async () => {
      assert.ok(clock.monotonic() - start > CLAIM_STALE_MS, `taken over after ${clock.monotonic() - start} ms: only staleness may break it`);
    });
  });

  it('CLU-6: a claim this process left behind (its unlink failed) is broken by its next call at once; a running call of its own is waited for', async () => {
    const clock = new FakeClock();
    const env = { ...realEnv(), clock };
    const wait: ClusterWait = { processId: 'p-test', isDeadOwner: async () => false, liveClaims: new Set() };
    const claim = (owner: string): string => `${owner}#${crc32(new TextEncoder().encode(owner)).toString(16)}`;
    mkdirSync(dir);
    writeFileSync(join(dir, 'count.claim'), claim('call-1@p-test'));
    const start = clock.monotonic();
    await withClaimFiles(env, dir, ['count'], wait, async () => {
      assert.ok(clock.monotonic() - start < CLAIM_STALE_MS, `taken over after ${clock.monotonic() - start} ms`);
      // A second call of this process meets the first one's live claim: it waits (staleness only).
      let second = false;
      const waiting = withClaimFiles(env, dir, ['count'], { ...wait, deadline: clock.monotonic() + 50 }, async () => void (second = true));
      await assert.rejects(waiting, (e: unknown) => SopError.is(e, 'TIMEOUT'));
      assert.equal(second, false);
    });
    assert.deepEqual([...wait.liveClaims!], [], 'ended calls leave no owner behind');
  });
});
