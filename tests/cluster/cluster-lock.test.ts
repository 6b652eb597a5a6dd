/**
 * Short cluster locks (spec CLU-2, CLU-3, CLU-6): a lock whose reply was lost is released all the
 * same, and a release Redis does not confirm is retried (found by the clustered seeds 1688641135
 * and 1728281389, where such locks held off every process until their 30 s TTL).
 */
import { strict as assert } from 'node:assert';
import { MemoryCoordinator } from '../../src/adapters/memory-coordinator.js';
import { withClusterLocks } from '../../src/cluster/cluster-lock.js';
import { ProcessLiveness } from '../../src/cluster/liveness.js';
import type { ClusterWait } from '../../src/cluster/wait.js';
import { SeededRandom, realEnv } from '../../src/index.js';

const WAIT: ClusterWait = { processId: 'p-test', isDeadOwner: async () => false };

/** A coordinator whose next `lock` is applied but its reply lost (the caller sees an error). */
function lossyCoordinator(): { coordinator: MemoryCoordinator; loseNextReply: () => void } {
  const env = realEnv();
  const coordinator = new MemoryCoordinator(env.clock, new SeededRandom(1));
  let lose = false;
  const lock = coordinator.lock.bind(coordinator);
  coordinator.lock = async (key, owner, ttlMs) => {
    const other = await lock(key, owner, ttlMs);
    if (lose) {
      lose = false;
      throw new Error('connection reset: reply lost');
    }
    return other;
  };
  return { coordinator, loseNextReply: () => (lose = true) };
}

describe('cluster locks (CLU-2, CLU-3, CLU-6)', () => {
  it('a lock taken whose reply was lost is not left to its TTL: the failed call releases it', async () => {
    const { coordinator, loseNextReply } = lossyCoordinator();
    const env = { ...realEnv(), coordinator };
    loseNextReply();
    await assert.rejects(withClusterLocks(env, ['k1'], WAIT, async () => 'ran'), /reply lost/);
    assert.equal(await coordinator.owner('k1'), null, 'the lock the lost reply took is released');
    assert.equal(await withClusterLocks(env, ['k1'], { ...WAIT, deadline: env.clock.monotonic() + 200 }, async () => 'ran'), 'ran');
  });

  it('a release Redis does not confirm goes to `release` (the heartbeat retries it), with this call\'s owner', async () => {
    const { coordinator } = lossyCoordinator();
    const env = { ...realEnv(), coordinator };
    const released: string[] = [];
    await withClusterLocks(env, ['a', 'b'], { ...WAIT, release: async (key, owner) => void released.push(`${key} ${owner.endsWith('@p-test')}`) }, async () => undefined);
    assert.deepEqual(released.sort(), ['a true', 'b true']);
  });
});

describe('process liveness: abandoned claims outlive a Redis restart (CLU-6)', () => {
  it('a claim declared abandoned is declared again once a restart dropped the mark (seed 587308406)', async () => {
    // Without the mark, other processes watch the leftover claim for CLAIM_STALE_MS (10 s): a
    // peer death in the simulator took 15.6 s to get past, 10 s of it on such a claim.
    const base = realEnv();
    let inner = new MemoryCoordinator(base.clock, new SeededRandom(2));
    const coordinator = new Proxy({} as MemoryCoordinator, { get: (_, name) => {
      const value = (inner as unknown as Record<string | symbol, unknown>)[name];
      return typeof value === 'function' ? value.bind(inner) : value;
    } });
    const liveness = new ProcessLiveness({ ...base, coordinator }, 'ns', 100);
    await liveness.start();
    try {
      const owner = `call-1@${liveness.id}`;
      await liveness.abandonClaim(owner);
      assert.equal(await liveness.isAbandoned(owner), true);
      inner = new MemoryCoordinator(base.clock, new SeededRandom(3)); // Redis restarted: every key is gone
      assert.equal(await liveness.isAbandoned(owner), false);
      const until = Date.now() + 5_000;
      while (!(await liveness.isAbandoned(owner)) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      assert.equal(await liveness.isAbandoned(owner), true, 'the heartbeat that re-created the process key declared the claim abandoned again');
    } finally {
      await liveness.close();
    }
  });
});
