/**
 * CLU-2: two processes rewriting the same registry sector. Each Registry instance stands for
 * one process (its own images, its own file handles) on the same folder; the sector guard is
 * the cluster lock. A rewrite must start from the sector on disk, so neither process's handle
 * is lost when the other wrote the sector since it last looked.
 */
import { ProcessLiveness } from '../../src/cluster/liveness.js';
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withClusterLocks } from '../../src/cluster/cluster-lock.js';
import { ClusterSync } from '../../src/cluster/cluster-sync.js';
import { MemoryCoordinator, realEnv } from '../../src/index.js';
import { newHandle } from '../../src/registry/handle.js';
import { Registry, type SectorGuard } from '../../src/registry/registry.js';

const id = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const physical = (n: number): string => `10000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('clustered registry sectors (CLU-2)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sop-sectors-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('CLU-2: a rewrite by one process keeps the handles another process wrote to the same sector', async () => {
    const base = realEnv();
    const env = { ...base, coordinator: new MemoryCoordinator(base.clock, base.random) };
    const guard: SectorGuard = (store, sectors, task) => withClusterLocks(env, sectors.map((s) => `t:${store}:${s}`), { processId: 'p-test', isDeadOwner: async () => false }, task);
    const created = await Registry.create(env, dir, 's', 1); // hashMod 1: every id in sector 0
    await created.close();
    const p1 = await Registry.open(env, dir, 's', 1, new Set(), guard);
    const p2 = await Registry.open(env, dir, 's', 1, new Set(), guard);
    const now = env.clock.now();
    for (let n = 1; n <= 10; n++) {
      const writer = n % 2 === 0 ? p1 : p2; // alternate: each writes onto a sector the other changed
      await writer.write(id(900 + n), [{ id: id(n), before: null, after: newHandle(id(n), physical(n), now) }], 'commit');
    }
    await Promise.all([
      p1.write(id(911), [{ id: id(11), before: null, after: newHandle(id(11), physical(11), now) }], 'commit'),
      p2.write(id(912), [{ id: id(12), before: null, after: newHandle(id(12), physical(12), now) }], 'commit'),
    ]);
    const reader = await Registry.open(env, dir, 's', 1, new Set());
    try {
      for (let n = 1; n <= 12; n++) assert.equal(reader.get(id(n))?.physicalA, physical(n), `handle ${n} survived`);
      assert.equal(reader.size, 12);
    } finally {
      await Promise.all([p1.close(), p2.close(), reader.close()]);
    }
  });

  it('CLU-2: claim files keep sector rewrites exclusive when the Coordinator lost its locks (two Redis views that do not agree)', async () => {
    const storeDir = join(dir, 's');
    const base = realEnv();
    mkdirSync(storeDir);
    const created = await Registry.create(base, storeDir, 's', 1);
    await created.close();
    // Each "process" has its own coordinator: their Redis locks exclude nothing, as after a restart.
    const sync = (): ClusterSync => {
      const env = { ...realEnv(), coordinator: new MemoryCoordinator(base.clock, base.random) };
      return new ClusterSync(env, 'sop:test', dir, async () => { throw new Error('not used'); }, new ProcessLiveness(env, 'sop:test', 2_500));
    };
    const p1 = await Registry.open(base, storeDir, 's', 1, new Set(), sync().sectorGuard);
    const p2 = await Registry.open(base, storeDir, 's', 1, new Set(), sync().sectorGuard);
    const now = base.clock.now();
    const writes: Array<Promise<unknown>> = [];
    for (let n = 1; n <= 20; n++) {
      const writer = n % 2 === 0 ? p1 : p2;
      writes.push(writer.write(id(800 + n), [{ id: id(n), before: null, after: newHandle(id(n), physical(n), now) }], 'commit'));
    }
    await Promise.all(writes);
    const reader = await Registry.open(base, storeDir, 's', 1, new Set());
    try {
      for (let n = 1; n <= 20; n++) assert.equal(reader.get(id(n))?.physicalA, physical(n), `handle ${n} survived`);
    } finally {
      await Promise.all([p1.close(), p2.close(), reader.close()]);
    }
  });
});
