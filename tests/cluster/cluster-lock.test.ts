/**
 * Short cluster locks (spec CLU-2, CLU-3, CLU-6): a lock whose reply was lost is released all the
 * same, and a release Redis does not confirm is retried (found by the clustered seeds 1688641135
 * and 1728281389, where such locks held off every process until their 30 s TTL).
 */
import { strict as assert } from 'node:assert';
import { MemoryCoordinator } from '../../src/adapters/memory-coordinator.js';
import { withClusterLocks } from '../../src/cluster/cluster-lock.js';
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
