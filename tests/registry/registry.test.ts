/**
 * The registry on its own (REG-1, REG-2, REG-4, FMT-2, COW-2, COW-3, COW-4): handles, sectors,
 * overflow segments and copy-on-write restore, on a simulated disk so power losses are exact.
 */
import assert from 'node:assert/strict';
import { MemoryCoordinator } from '../../src/adapters/memory-coordinator.js';
import { SeededRandom } from '../../src/adapters/seeded-random.js';
import { SystemClock } from '../../src/adapters/system-clock.js';
import { SopError } from '../../src/errors/sop-error.js';
import type { Env } from '../../src/ports/env.js';
import { type Handle, activePhysical, flipped, newHandle } from '../../src/registry/handle.js';
import { Registry } from '../../src/registry/registry.js';
import { SECTOR_SIZE, decodeSector, encodeSector, emptySlots, homeOf } from '../../src/registry/sector.js';
import { ProcessGate } from '../../sim/gate.js';
import { SeededSimRandom } from '../../sim/random.js';
import { SimDisk } from '../../sim/sim-disk.js';

function env(disk: SimDisk, seed = 1): Env {
  const clock = new SystemClock();
  const random = new SeededRandom(seed);
  return { fs: disk.view(new ProcessGate(), { complete: async () => undefined }), clock, random, coordinator: new MemoryCoordinator(clock, random) };
}

async function fresh(hashMod = 2): Promise<{ disk: SimDisk; e: Env; reg: Registry }> {
  const disk = new SimDisk('d0', new SeededSimRandom(7));
  const e = env(disk);
  await e.fs.mkdir('/r');
  await e.fs.syncDir('/');
  const reg = await Registry.create(e, '/r', 's', hashMod);
  return { disk, e, reg };
}

const ids = (random: SeededRandom, n: number): string[] => Array.from({ length: n }, () => random.uuid());
const T = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

describe('registry (REG-1, REG-2, REG-4, FMT-2)', () => {
  it('an update makes the new body active and bumps the version by exactly one; a removal deletes the handle', async () => {
    const { e, reg } = await fresh();
    const [id, p1, p2] = ids(e.random as SeededRandom, 3) as [string, string, string];
    const h1 = newHandle(id, p1, 0);
    reg.publish(await reg.write(T(1), [{ id, before: null, after: h1 }], 'commit'));
    const h2 = flipped(h1, p2, 0);
    reg.publish(await reg.write(T(2), [{ id, before: h1, after: h2 }], 'commit'));
    assert.equal(reg.get(id)!.version, h1.version + 1);
    assert.equal(activePhysical(reg.get(id)!), p2);
    reg.publish(await reg.write(T(3), [{ id, before: h2, after: null }], 'commit'));
    assert.equal(reg.get(id), undefined);
  });

  it('hash mod 1 overflows into further segments and keeps one slot per id across reopen (REG-2)', async () => {
    const { disk, e, reg } = await fresh(1);
    const random = e.random as SeededRandom;
    const handles: Handle[] = ids(random, 200).map((id) => newHandle(id, random.uuid(), 0));
    for (const h of handles) reg.publish(await reg.write(T(4), [{ id: h.logicalId, before: null, after: h }], 'commit'));
    for (const h of handles.slice(0, 150)) {
      const next = flipped(reg.get(h.logicalId)!, random.uuid(), 0);
      reg.publish(await reg.write(T(5), [{ id: h.logicalId, before: reg.get(h.logicalId)!, after: next }], 'commit'));
    }
    await reg.close();
    const again = await Registry.open(env(disk, 2), '/r', 's', 1, new Set());
    assert.equal(again.size, 200);
    const seen = new Map<string, number>();
    for (const path of disk.listTree('/r').filter((p) => p.endsWith('.reg'))) {
      const bytes = disk.peekFile(path)!;
      for (let at = 0; at < bytes.length; at += SECTOR_SIZE) {
        for (const slot of decodeSector(bytes.subarray(at, at + SECTOR_SIZE), path)) if (slot) seen.set(slot.logicalId, (seen.get(slot.logicalId) ?? 0) + 1);
      }
    }
    assert.equal(seen.size, 200);
    assert.ok([...seen.values()].every((n) => n === 1), 'a logical id is stored in more than one slot');
    assert.ok(disk.listTree('/r').filter((p) => p.endsWith('.reg')).length > 1, 'expected overflow segments');
  });

  it('one write that fills several new segments at once, as commit and as redo, keeps one slot per id (REG-2)', async () => {
    // Found from outside on a887733: a commit needing more than one new segment failed after its
    // commit point ('no free slot'), and so did every open after it (the redo took the same path).
    for (const mode of ['commit', 'redo'] as const) {
      const { disk, e, reg } = await fresh(1);
      const random = e.random as SeededRandom;
      const handles: Handle[] = ids(random, 300).map((id) => newHandle(id, random.uuid(), 0));
      const applied = await reg.write(T(6), handles.map((h) => ({ id: h.logicalId, before: null, after: h })), mode);
      assert.equal(applied.length, 300);
      reg.publish(applied);
      await reg.close();
      const again = await Registry.open(env(disk, 2), '/r', 's', 1, new Set());
      assert.equal(again.size, 300, mode);
      for (const h of handles) assert.deepEqual(again.get(h.logicalId), h);
      await again.close();
    }
  });

  it('a sector is 4096 bytes with a CRC; all zeros is empty; a flipped bit is CORRUPT (FMT-2)', () => {
    assert.deepEqual(decodeSector(new Uint8Array(SECTOR_SIZE), 'x'), emptySlots());
    const slots = emptySlots();
    slots[3] = newHandle('0b5a0d3c-1c2b-4d5e-8f60-718293a4b5c6', '1b5a0d3c-1c2b-4d5e-8f60-718293a4b5c6', 5);
    const bytes = encodeSector(slots);
    assert.equal(bytes.length, SECTOR_SIZE);
    assert.deepEqual(decodeSector(bytes, 'x')[3], slots[3]);
    for (const bit of [0, 100, 8 * 200 + 3, 8 * 4095]) {
      const bad = bytes.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      assert.throws(() => decodeSector(bad, 'x'), (err) => SopError.is(err, 'CORRUPT'));
    }
    assert.equal(homeOf('ffffffff-0000-4000-8000-000000000000', 7).sector, 0xffffffff % 7);
  });

  it('a corrupt sector with no live before-image makes open fail with CORRUPT (REG-4)', async () => {
    const { disk, e, reg } = await fresh(1);
    const random = e.random as SeededRandom;
    const h = newHandle(random.uuid(), random.uuid(), 0);
    await reg.write(T(4), [{ id: h.logicalId, before: null, after: h }], 'commit');
    await reg.close();
    const file = await e.fs.open('/r/s-1.reg', 'readWrite');
    const sector = await file.read(0, SECTOR_SIZE);
    sector[10]! ^= 0xff;
    await file.write(0, sector);
    await file.close();
    await assert.rejects(Registry.open(env(disk, 3), '/r', 's', 1, new Set()), (err) => SopError.is(err, 'CORRUPT'));
  });
});

describe('copy-on-write before-images (COW-2, COW-3, COW-4)', () => {
  async function tornWrite(liveTids: Set<string>): Promise<{ reopened: Registry; before: Handle; after: Handle }> {
    const { disk, e, reg } = await fresh(1);
    const random = e.random as SeededRandom;
    const before = newHandle(random.uuid(), random.uuid(), 0);
    reg.publish(await reg.write(T(6), [{ id: before.logicalId, before: null, after: before }], 'commit'));
    // The next write tears: its before-image is durable, its sector is half written.
    const after = flipped(before, random.uuid(), 0);
    const tid = '00000000-0000-4000-8000-0000000000aa';
    await reg.write(tid, [{ id: before.logicalId, before, after }], 'commit');
    await reg.close();
    const f = await e.fs.open('/r/s-1.reg', 'readWrite');
    await f.write(2048, new Uint8Array(2048).fill(0x5a));
    await f.close();
    const reopened = await Registry.open(env(disk, 4), '/r', 's', 1, liveTids.has('aa') ? new Set([tid]) : liveTids);
    return { reopened, before, after };
  }

  it('the before-image of an unfinished committed transaction is restored on reopen (COW-2, COW-3)', async () => {
    const { reopened, before } = await tornWrite(new Set(['aa']));
    assert.equal(reopened.get(before.logicalId)!.version, before.version, 'restored to the state before the torn write');
  });

  it('a before-image of a finished transaction is never restored: the torn sector stays CORRUPT (COW-4, REG-4)', async () => {
    await assert.rejects(tornWrite(new Set()), (err) => SopError.is(err, 'CORRUPT'));
  });
});
