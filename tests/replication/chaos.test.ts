/**
 * The replication chaos drill (REPL-1..REPL-5): writers commit all the time while a seeded
 * chaos actor kills the active drive (failover), fails the passive one, replaces a failed drive
 * with an empty folder and reinstates it online, flips bytes in active blob files (healed from
 * the replica), and cold-restarts the database. At the end every acknowledged commit is there,
 * the structure holds and the replicas are byte-identical.
 *
 * CI runs it for SOP_REPL_SECONDS (default 8 s); the nightly job runs 600 s (`npm run stress:replication`).
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { SeededRandom } from '../../src/adapters/seeded-random.js';
import { SopError } from '../../src/errors/sop-error.js';
import { Drives, STORE, TempDirs, assertHolds, drivePair, openReplicated, valueOf } from './helpers.js';

const dirs = new TempDirs();
after(() => dirs.cleanup());
const SECONDS = Number(process.env.SOP_REPL_SECONDS ?? 8);
const SEED = Number(process.env.SOP_REPL_SEED ?? Date.now() % 1_000_000_007);

describe(`replication: chaos drill, ${SECONDS} s, seed ${SEED} (REPL-1..REPL-5)`, () => {
  it('failovers, passive failures, drive replacements with online reinstates, bit flips and cold restarts lose nothing', async function () {
    this.timeout((SECONDS + 120) * 1000);
    const random = new SeededRandom(SEED);
    const pair = drivePair(dirs);
    const drives = new Drives();
    let db = await openReplicated(pair, drives);
    await db.transaction('write', async (tx) => void (await db.newBtree<number, string>(tx, STORE, { slotLength: 16 })));
    const acked: number[] = [];
    const failures = new Map<string, number>();
    const tally: Record<string, number> = {};
    const timeline: string[] = [];
    const firsts: string[] = [];
    let stop = false;
    let paused: Promise<void> | null = null;
    const writer = async (w: number): Promise<void> => {
      for (let n = 0; !stop; n++) {
        if (paused) await paused;
        const keys = [0, 1, 2].map((i) => w * 10_000_000 + n * 10 + i);
        try {
          await db.transaction('write', async (tx) => {
            const tree = await db.openBtree<number, string>(tx, STORE);
            for (const k of keys) await tree.add(k, valueOf(k));
          });
          acked.push(...keys);
        } catch (error) {
          const code = error instanceof SopError ? error.code : String(error);
          if (!failures.has(code)) firsts.push(`${code} after [${timeline.slice(-6).join(', ')}]: ${error instanceof Error ? error.message : String(error)}`);
          failures.set(code, (failures.get(code) ?? 0) + 1);
        }
      }
    };
    const writers = [writer(1), writer(2)];
    const deadline = Date.now() + SECONDS * 1000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20 + Math.floor(random.nextFloat() * 80)));
      const status = db.replicationStatus()!;
      const count = (name: string) => {
        tally[name] = (tally[name] ?? 0) + 1;
        timeline.push(`${name}@${db.replicationStatus()!.epoch}`);
      };
      if (status.passiveState !== 'in-sync') {
        // The failed drive is repaired or replaced by an empty one, then reinstated while writers run.
        drives.failing.delete(status.passive);
        if (random.nextFloat() < 0.6) {
          fs.rmSync(status.passive, { recursive: true, force: true });
          count('replaced');
        }
        await db.reinstate();
        count('reinstated');
        assert.equal(db.replicationStatus()!.passiveState, 'in-sync');
        continue;
      }
      const roll = random.nextFloat();
      if (roll < 0.3) {
        drives.failing.set(status.active, random.nextFloat() < 0.8 ? 'EIO' : 'EROFS');
        count('active-killed');
      } else if (roll < 0.45) {
        drives.failing.set(status.passive, random.nextFloat() < 0.5 ? 'EIO' : 'ENOSPC');
        count('passive-killed');
      } else if (roll < 0.6) {
        const blobs = listBlobs(status.active);
        if (blobs.length > 0) flipOne(blobs[Math.floor(random.nextFloat() * blobs.length)]!);
        // A scrub (as an operator's periodic `sop verify`) reads every blob: damage is healed from
        // the replica before the next fault, so no later loss of that replica meets a second fault.
        const scrub = await db.scrubStore(STORE);
        assert.deepEqual(scrub.issues, [], `every flipped blob healed from the replica (REPL-5); after [${timeline.slice(-6).join(', ')}] status ${JSON.stringify({ ...db.replicationStatus()!, events: db.replicationStatus()!.events.slice(-4) })}`);
        count('bit-flip');
      } else if (roll < 0.7) {
        let resume!: () => void;
        paused = new Promise((r) => (resume = r));
        await new Promise((r) => setTimeout(r, 50)); // let in-flight commits finish or fail
        await db.close();
        db = await openReplicated(pair, drives); // cold restart: the status on disk decides
        paused = null;
        resume();
        count('restart');
      }
    }
    stop = true;
    await Promise.all(writers);
    drives.failing.clear();
    if (db.replicationStatus()!.passiveState !== 'in-sync') await db.reinstate();
    console.log(`      chaos: ${JSON.stringify(tally)}; ${acked.length} keys acknowledged; failures ${JSON.stringify(Object.fromEntries(failures))}; epoch ${db.replicationStatus()!.epoch}`);
    assert.ok(acked.length > 0, 'the writers made progress');
    for (const code of failures.keys()) assert.ok(['CONFLICT', 'UNAVAILABLE'].includes(code), `unexpected failure ${code}: ${firsts.join(' | ')}`);
    await assertHolds(db, acked);
    assert.deepEqual(await db.compareReplicas(), []);
    await db.close();
    db = await openReplicated(pair, drives);
    await assertHolds(db, acked);
    await db.close();
  });
});

function listBlobs(root: string): string[] {
  const dir = path.join(root, 'stores', STORE, 'blobs');
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => path.join(dir, f)).filter((f) => fs.statSync(f, { throwIfNoEntry: false })?.isFile());
}

function flipOne(file: string): void {
  try {
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 0x01;
    fs.writeFileSync(file, bytes);
  } catch {
    // deleted meanwhile by a commit's cleanup
  }
}
