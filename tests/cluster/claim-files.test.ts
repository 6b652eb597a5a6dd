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
import type { FileSystem } from '../../src/ports/file-system.js';
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
    writeFileSync(join(dir, 'sector-3.claim'), ''); // its bytes lost to a power loss: it names nobody
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

  it('CLU-6: a claimant killed at any step of claiming leaves no claim that names nobody: a waiter takes over at once, not after CLAIM_STALE_MS', async () => {
    // A "process" whose file calls stop for good at its n-th call (SIGKILL there). Before the
    // fix, a claim was created empty and written after: a kill in between left a claim that only
    // went stale, and the multi-process test saw a sector blocked for 30 s (processes that
    // watched it were killed before their 10 s of watching ended).
    const killedAt = (n: number): FileSystem => {
      const inner = realEnv().fs;
      let calls = 0;
      return new Proxy(inner, {
        get: (target, name: keyof FileSystem) => {
          const fn = target[name] as unknown;
          if (typeof fn !== 'function') return fn;
          return (...args: unknown[]) => (calls++ === n ? new Promise(() => undefined) : (fn as (...a: unknown[]) => unknown).apply(target, args));
        },
      });
    };
    const wait: ClusterWait = { processId: 'p-waiter', isDeadOwner: async (owner) => owner.endsWith('@p-killed') };
    let steps = 0;
    for (let n = 0; ; n++) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      let claimed = false;
      void withClaimFiles({ ...realEnv(), fs: killedAt(n) }, dir, ['sector-3'], { processId: 'p-killed', isDeadOwner: async () => false }, async () => {
        claimed = true;
        await new Promise(() => undefined); // killed while holding it
      });
      await new Promise((r) => setTimeout(r, 20));
      const clock = new FakeClock();
      const start = clock.monotonic();
      await withClaimFiles({ ...realEnv(), clock }, dir, ['sector-3'], wait, async () => {
        assert.ok(clock.monotonic() - start < CLAIM_STALE_MS, `killed at call ${n}: taken over after ${clock.monotonic() - start} ms`);
      });
      steps = n;
      if (claimed) break; // the kill came after the claim was taken: every step before it was tried
    }
    assert.ok(steps >= 2, `claiming takes several file calls (${steps + 1})`);
  });

  it('CLU-2: on storage without hard links (link rejects EPERM) claims are still exclusive, and named', async () => {
    const fs: FileSystem = Object.assign(Object.create(realEnv().fs) as FileSystem, {
      link: async () => Promise.reject(Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' })),
    });
    const env = { ...realEnv(), fs };
    let inside = 0;
    let most = 0;
    await Promise.all(Array.from({ length: 4 }, () => withClaimFiles(env, dir, ['count'], WAIT, async () => {
      inside++;
      most = Math.max(most, inside);
      assert.match(readFileSync(join(dir, 'count.claim'), 'utf8'), /@p-test#[0-9a-f]+$/);
      await new Promise((r) => setTimeout(r, 5));
      inside--;
    })));
    assert.equal(most, 1);
    assert.deepEqual(readdirSync(dir), [], 'no claim and no draft left');
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
