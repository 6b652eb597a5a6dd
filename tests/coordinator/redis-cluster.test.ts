/**
 * RedisCoordinator over a real 3-master Redis Cluster (loopback, no replicas), built with
 * `redis-cli --cluster create`: the conformance cases through `{ cluster: [...] }` (their keys
 * spread over slots and masters), plus cluster-specific checks. A master restart is a failover
 * matter (it needs replicas), so runId is checked for stability and shape only.
 */
import assert from 'node:assert/strict';
import type { Cluster } from 'ioredis';
import { RedisCoordinator } from '../../src/adapters/redis-coordinator.js';
import { freePort, RedisClusterServers } from '../support/redis-server.js';
import { coordinatorConformance } from './conformance.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Redis Cluster (3 masters)', function () {
  this.timeout(120_000);
  let cluster: RedisClusterServers | undefined;
  const seeds = (): Array<{ host: string; port: number }> => {
    if (!cluster) throw new Error('the Redis Cluster was not started (see the before hook failure)');
    return cluster.seeds;
  };

  before(async function () {
    this.timeout(120_000);
    cluster = await RedisClusterServers.start(3);
  });
  after(async () => {
    await cluster?.dispose();
  });

  coordinatorConformance({
    name: 'RedisCoordinator over a Redis Cluster',
    kind: 'redis',
    ttl: 400,
    keyPrefix: 'cl',
    setup: async () => {
      const coordinator = await RedisCoordinator.connect({ cluster: seeds() });
      const peer = await RedisCoordinator.connect({ cluster: seeds() });
      return {
        coordinator,
        peer,
        elapse: sleep,
        close: async () => {
          await coordinator.close();
          await peer.close();
        },
      };
    },
    restart: {
      mode: 'no-restart',
      reason: 'a cluster master restart is a failover (needs replicas); runId joins every master run_id',
      pattern: /^[0-9a-f]{40},[0-9a-f]{40},[0-9a-f]{40}$/,
    },
  });

  describe('cluster specifics', () => {
    let c: RedisCoordinator;
    beforeEach(async () => {
      c = await RedisCoordinator.connect({ cluster: seeds() });
    });
    afterEach(async () => {
      await c.close();
    });

    it('keys spread over slots land on every master, and cacheDelete spans slots (no CROSSSLOT)', async () => {
      const client = c.client as Cluster;
      const keys = Array.from({ length: 30 }, (_, i) => `spread:${i}`);
      const slots = new Set<number>();
      for (const k of keys) {
        await c.cacheSet(k, new Uint8Array([0, 255, 1]), 10_000);
        assert.equal(await c.lock(`lock:${k}`, 'alice', 10_000), null);
        slots.add(Number(await client.cluster('KEYSLOT', k)));
      }
      assert.ok(slots.size > 10, `keys spread over slots (${slots.size})`);
      const sizes = await Promise.all(client.nodes('master').map((n) => n.dbsize()));
      assert.equal(sizes.length, 3);
      assert.ok(sizes.every((n) => n > 0), `every master holds keys: ${sizes.join(',')}`);
      await c.cacheDelete(keys);
      for (const k of keys) assert.equal(await c.cacheGet(k), null);
      for (const k of keys) assert.equal(await c.unlock(`lock:${k}`, 'alice'), true);
    });

    it('keys sharing a {hash tag} land in one slot and work like any other key', async () => {
      const client = c.client as Cluster;
      const a = 'sop:{db1}:b:1';
      const b = 'sop:{db1}:lock:2';
      assert.equal(await client.cluster('KEYSLOT', a), await client.cluster('KEYSLOT', b));
      await c.cacheSet(a, new Uint8Array([1, 2]), 10_000);
      assert.equal(await c.lock(b, 'alice', 10_000), null);
      assert.equal(await c.lock(b, 'bob', 10_000), 'alice');
      assert.deepEqual(await c.cacheGet(a), new Uint8Array([1, 2]));
      await c.cacheDelete([a]);
      assert.equal(await c.unlock(b, 'alice'), true);
    });

    it('seed nodes that do not answer give "cannot reach any cluster node" (settles, ETIMEDOUT)', async () => {
      const port = await freePort();
      const start = performance.now();
      await assert.rejects(
        () => RedisCoordinator.connect({ cluster: [{ host: '127.0.0.1', port }] }),
        (e: Error & { code?: string }) => /cannot reach any cluster node/.test(e.message) && e.message.includes(`127.0.0.1:${port}`) && e.code === 'ETIMEDOUT',
      );
      console.log(`        unreachable cluster: rejected after ${Math.round(performance.now() - start)} ms`);
    });

    it('runId joins the run_id of every master (3) and is stable across calls', async () => {
      const id = await c.runId();
      assert.equal(id.split(',').length, 3);
      assert.equal(await c.runId(), id);
    });
  });
});
