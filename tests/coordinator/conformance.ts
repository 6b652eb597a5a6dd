/**
 * One conformance suite for the Coordinator port (src/ports/coordinator.ts), run against every
 * adapter. MemoryCoordinator is the reference; each adapter supplies a Harness telling the suite
 * how time passes for it (fake clock, virtual event loop, or real waiting) and what it can do
 * (restart, a second client). Cases an adapter cannot do are not skipped: the case's name says
 * so and it asserts the adapter's documented behaviour instead.
 */
import assert from 'node:assert/strict';
import type { Coordinator } from '../../src/ports/coordinator.js';

export interface Harness {
  readonly coordinator: Coordinator;
  /** Lets `ms` of the adapter's time pass (advance a fake clock, run the sim loop, or sleep). */
  elapse(ms: number): Promise<void>;
  /** Another client of the same state (a second connection / node), or null when none exists. */
  readonly peer: Coordinator | null;
  close(): Promise<void>;
}

export interface RestartSupport {
  /** Restart the server with total loss. */
  restart(): Promise<void>;
}

export interface ConformanceTarget {
  name: string;
  kind: Coordinator['kind'];
  /**
   * The TTL unit of the timing cases, in the adapter's milliseconds. Virtual-time adapters use
   * any value; real servers need one large enough for scheduling noise (the cases wait 0.6 T
   * against a TTL of T, and 1.25 T for expiry).
   */
  ttl: number;
  setup(): Promise<Harness>;
  /**
   * How runId behaves across a loss of state:
   * - 'restart': the server can be restarted here: runId changes and every key is gone.
   * - 'new-instance': no server; a process restart builds a new instance, with a new runId and
   *   empty state (the function builds that instance).
   * - 'no-restart': no restart can be done here (ioredis-mock's INFO is canned; a cluster
   *   master restart is a failover matter, not a Coordinator one): `reason` says why, and the
   *   run id is asserted to be stable and to match `pattern`.
   */
  restart:
    | { mode: 'restart'; support: (h: Harness) => RestartSupport }
    | { mode: 'new-instance'; fresh: () => Promise<Harness> }
    | { mode: 'no-restart'; reason: string; pattern: RegExp };
  /** Which keys to use: a prefix unique to this target (a shared server may hold other keys). */
  keyPrefix: string;
  /** Extra note for adapters that cannot share state with a second client. */
  noPeerReason?: string;
}

let counter = 0;

export function coordinatorConformance(target: ConformanceTarget): void {
  describe(`Coordinator conformance: ${target.name}`, function () {
    let h: Harness;
    let c: Coordinator;
    const T = target.ttl;
    const key = (name: string): string => `${target.keyPrefix}:${name}:${++counter}`;

    beforeEach(async function () {
      this.timeout(30_000);
      h = await target.setup();
      c = h.coordinator;
    });
    afterEach(async () => {
      await h?.close();
    });

    it(`kind is '${target.kind}'`, () => {
      assert.equal(c.kind, target.kind);
    });

    describe('locks', () => {
      it('lock on a free key returns null and owner() reports the owner', async () => {
        const k = key('free');
        assert.equal(await c.owner(k), null);
        assert.equal(await c.lock(k, 'alice', T), null);
        assert.equal(await c.owner(k), 'alice');
      });

      it('a second owner gets the first owner back and does not take the lock', async () => {
        const k = key('second');
        assert.equal(await c.lock(k, 'alice', T), null);
        assert.equal(await c.lock(k, 'bob', T), 'alice');
        assert.equal(await c.owner(k), 'alice');
      });

      it('the same owner may re-lock (re-entrant) and that refreshes the TTL', async () => {
        const k = key('reentrant');
        assert.equal(await c.lock(k, 'alice', T), null);
        await h.elapse(0.6 * T);
        assert.equal(await c.lock(k, 'alice', T), null, 're-lock by the owner');
        await h.elapse(0.6 * T); // 1.2 T after the first lock, 0.6 T after the re-lock
        assert.equal(await c.owner(k), 'alice', 'the re-lock re-armed the TTL');
        assert.equal(await c.lock(k, 'bob', T), 'alice');
        await h.elapse(0.65 * T);
        assert.equal(await c.owner(k), null, 'expires T after the re-lock');
      });

      it('unlock by a non-owner returns false and keeps the lock', async () => {
        const k = key('unlock-other');
        await c.lock(k, 'alice', T);
        assert.equal(await c.unlock(k, 'bob'), false);
        assert.equal(await c.owner(k), 'alice');
      });

      it('unlock by the owner returns true, frees the key, and another owner can take it', async () => {
        const k = key('unlock-owner');
        await c.lock(k, 'alice', T);
        assert.equal(await c.unlock(k, 'alice'), true);
        assert.equal(await c.owner(k), null);
        assert.equal(await c.unlock(k, 'alice'), false, 'a second unlock finds nothing');
        assert.equal(await c.lock(k, 'bob', T), null);
        assert.equal(await c.owner(k), 'bob');
      });

      it('unlock of a key never locked returns false', async () => {
        assert.equal(await c.unlock(key('never'), 'alice'), false);
      });

      it('extend by the owner re-arms the TTL past the original expiry', async () => {
        const k = key('extend-owner');
        await c.lock(k, 'alice', T);
        await h.elapse(0.6 * T);
        assert.equal(await c.extend(k, 'alice', T), true);
        await h.elapse(0.6 * T);
        assert.equal(await c.owner(k), 'alice', 'still held 1.2 T after locking');
        await h.elapse(0.65 * T);
        assert.equal(await c.owner(k), null, 'expires T after the extend');
      });

      it('extend by a non-owner returns false and neither takes nor prolongs the lock', async () => {
        const k = key('extend-other');
        await c.lock(k, 'alice', T);
        await h.elapse(0.6 * T);
        assert.equal(await c.extend(k, 'bob', 10 * T), false);
        assert.equal(await c.owner(k), 'alice');
        await h.elapse(0.65 * T);
        assert.equal(await c.owner(k), null, 'the original TTL still applies');
      });

      it('extend of a free key returns false and does not create it', async () => {
        const k = key('extend-free');
        assert.equal(await c.extend(k, 'alice', T), false);
        assert.equal(await c.owner(k), null);
      });

      it('a lock expires after its TTL and can then be taken by another owner', async () => {
        const k = key('expiry');
        await c.lock(k, 'alice', T);
        await h.elapse(0.5 * T);
        assert.equal(await c.owner(k), 'alice');
        await h.elapse(0.75 * T);
        assert.equal(await c.owner(k), null);
        assert.equal(await c.unlock(k, 'alice'), false, 'the old holder cannot delete what expired');
        assert.equal(await c.lock(k, 'bob', T), null);
        assert.equal(await c.unlock(k, 'alice'), false, "the old holder cannot delete bob's lock (no plain DEL)");
        assert.equal(await c.extend(k, 'alice', T), false);
        assert.equal(await c.owner(k), 'bob');
      });

      it('a lock with TTL <= 0 never holds forever: it is rejected or free at once', async () => {
        for (const ttl of [0, -1]) {
          const k = key(`lock-ttl${ttl}`);
          let rejected = false;
          try {
            await c.lock(k, 'alice', ttl);
          } catch {
            rejected = true;
          }
          assert.equal(await c.owner(k), null, `ttl ${ttl} (rejected: ${rejected})`);
        }
      });

      it('owner() of a key never locked is null', async () => {
        assert.equal(await c.owner(key('nobody')), null);
      });
    });

    describe('cache', () => {
      it('cacheSet then cacheGet round-trips; a missing key is null', async () => {
        const k = key('cache');
        assert.equal(await c.cacheGet(k), null);
        await c.cacheSet(k, bytes([1, 2, 3]), T);
        assert.deepEqual(await c.cacheGet(k), bytes([1, 2, 3]));
        await c.cacheSet(k, bytes([4]), T);
        assert.deepEqual(await c.cacheGet(k), bytes([4]), 'overwrite');
      });

      it('cache entries expire after their TTL', async () => {
        const k = key('cache-expiry');
        await c.cacheSet(k, bytes([9]), T);
        await h.elapse(0.5 * T);
        assert.deepEqual(await c.cacheGet(k), bytes([9]));
        await h.elapse(0.75 * T);
        assert.equal(await c.cacheGet(k), null);
      });

      it('cacheSet with TTL 0, negative or NaN does not cache (never "forever", E115)', async () => {
        for (const ttl of [0, -1, -60_000, Number.NaN]) {
          const k = key(`nocache${ttl}`);
          await c.cacheSet(k, bytes([1]), ttl);
          assert.equal(await c.cacheGet(k), null, `ttl ${ttl}`);
        }
      });

      it('binary values round-trip byte-exact (0x00, 0xff, every byte value, empty, 256 KiB)', async () => {
        const all = new Uint8Array(512);
        for (let i = 0; i < all.length; i++) all[i] = i & 0xff;
        const big = new Uint8Array(256 * 1024);
        for (let i = 0, x = 0x12345678; i < big.length; i++) {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          big[i] = x >>> 24;
        }
        const view = new Uint8Array([7, 0, 0xff, 0, 7]).subarray(1, 4); // non-zero byteOffset
        const cases: Array<[string, Uint8Array]> = [
          ['zeros/ff', bytes([0x00, 0xff, 0x00, 0xff, 0x80, 0x7f, 0x0d, 0x0a])],
          ['all bytes', all],
          ['empty', new Uint8Array(0)],
          ['big', big],
          ['subarray', view],
        ];
        for (const [name, value] of cases) {
          const k = key(`bin-${name}`);
          await c.cacheSet(k, value, T);
          const got = await c.cacheGet(k);
          assert.ok(got instanceof Uint8Array, `${name}: a Uint8Array`);
          assert.equal(got.byteLength, value.byteLength, `${name}: length`);
          assert.ok(Buffer.from(got).equals(Buffer.from(value.buffer, value.byteOffset, value.byteLength)), `${name}: bytes`);
        }
      });

      it('cacheDelete removes several keys at once, ignores missing ones, and [] is a no-op', async () => {
        const ks = [key('del-a'), key('del-b'), key('del-c'), key('del-d')];
        for (const k of ks) await c.cacheSet(k, bytes([1]), T);
        await c.cacheDelete([]);
        assert.deepEqual(await c.cacheGet(ks[0]!), bytes([1]));
        await c.cacheDelete([ks[0]!, ks[1]!, ks[2]!, key('del-missing')]);
        for (const k of ks.slice(0, 3)) assert.equal(await c.cacheGet(k), null, k);
        assert.deepEqual(await c.cacheGet(ks[3]!), bytes([1]), 'untouched key survives');
      });
    });

    describe('sharing', () => {
      if (target.noPeerReason) {
        it(`a second client does not exist for this adapter (${target.noPeerReason}): a second instance has its own state`, async () => {
          assert.equal(h.peer, null);
          if (target.restart.mode !== 'new-instance') return;
          const other = await target.restart.fresh();
          try {
            const k = key('isolated');
            await c.lock(k, 'alice', T);
            assert.equal(await other.coordinator.owner(k), null);
          } finally {
            await other.close();
          }
        });
      } else {
        it('a second client sees the same locks and cache, and is excluded by them', async () => {
          const p = h.peer;
          assert.ok(p, 'this adapter has a second client');
          const k = key('shared-lock');
          const kc = key('shared-cache');
          assert.equal(await c.lock(k, 'alice', T), null);
          assert.equal(await p.owner(k), 'alice');
          assert.equal(await p.lock(k, 'bob', T), 'alice');
          assert.equal(await p.unlock(k, 'bob'), false);
          await c.cacheSet(kc, bytes([0, 255]), T);
          assert.deepEqual(await p.cacheGet(kc), bytes([0, 255]));
          await p.cacheDelete([kc]);
          assert.equal(await c.cacheGet(kc), null);
        });
      }
    });

    describe('runId', () => {
      it('is a non-empty string, stable across calls', async () => {
        const a = await c.runId();
        assert.equal(typeof a, 'string');
        assert.ok(a.length > 0);
        assert.equal(await c.runId(), a);
        await c.lock(key('runid'), 'alice', T);
        assert.equal(await c.runId(), a);
      });

      const r = target.restart;
      if (r.mode === 'restart') {
        it('changes after a server restart, and every lock and cache entry is gone', async function () {
          this.timeout(60_000);
          const before = await c.runId();
          const k = key('restart-lock');
          const kc = key('restart-cache');
          await c.lock(k, 'alice', 100 * T);
          await c.cacheSet(kc, bytes([1, 2]), 100 * T);
          await r.support(h).restart();
          const after = await c.runId();
          assert.notEqual(after, before);
          assert.equal(await c.owner(k), null, 'lock gone');
          assert.equal(await c.cacheGet(kc), null, 'cache gone');
          assert.equal(await c.lock(k, 'bob', T), null, 'the key can be locked again');
          assert.equal(await c.runId(), after, 'stable again');
        });
      } else if (r.mode === 'new-instance') {
        it('memory has no server to restart: a new instance (a process restart) has a new runId and empty state', async () => {
          const k = key('restart-lock');
          const kc = key('restart-cache');
          await c.lock(k, 'alice', 100 * T);
          await c.cacheSet(kc, bytes([1]), 100 * T);
          const fresh = await r.fresh();
          try {
            assert.notEqual(await fresh.coordinator.runId(), await c.runId());
            assert.equal(await fresh.coordinator.owner(k), null);
            assert.equal(await fresh.coordinator.cacheGet(kc), null);
          } finally {
            await fresh.close();
          }
        });
      } else {
        it(`no restart here (${r.reason}): asserts the run id matches ${r.pattern}`, async () => {
          assert.match(await c.runId(), r.pattern);
        });
      }
    });
  });
}

export function bytes(values: number[]): Uint8Array {
  return new Uint8Array(values);
}
