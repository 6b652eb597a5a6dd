/**
 * The onIdle sweep runs while transactions are live (spec IDLE-1: "a sweep finishes *dead*
 * transactions"). A transaction that begins while a sweep is running must never be mistaken
 * for a dead one: its step log must not be undone under it.
 *
 * The interleaving is forced deterministically: the sweep's readdir of translogs/ is held at a
 * gate until the live transaction has written its step log and its blobs (point
 * commit.afterBlobs), then released.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database, NodeFileSystem, type Transaction, realEnv } from '../../src/index.js';
import { FaultyFileSystem } from '../../fault-injection/faulty-fs.js';

/** NodeFileSystem whose next readdir of one path waits until released. */
class GatedFileSystem extends FaultyFileSystem {
  private gate: { path: string; reached: () => void; released: Promise<void> } | null = null;
  private releaseGate: (() => void) | null = null;

  constructor() {
    super(new NodeFileSystem(), () => null);
  }

  /** Arms the gate; resolves when a readdir of `path` is waiting at it. */
  arm(path: string): Promise<void> {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    this.releaseGate = release;
    return new Promise<void>((reached) => (this.gate = { path, reached, released }));
  }

  release(): void {
    this.releaseGate?.();
    this.releaseGate = null;
  }

  get held(): boolean {
    return this.releaseGate !== null;
  }

  override async readdir(path: string): Promise<string[]> {
    const gate = this.gate;
    if (gate && gate.path === path) {
      this.gate = null;
      gate.reached();
      await gate.released;
    }
    return super.readdir(path);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('concurrency: onIdle sweep vs live transactions (IDLE-1, REC-4)', function () {
  this.timeout(60_000);
  let folder: string;

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'sop-sweep-'));
  });

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('a transaction that begins while a sweep runs is not undone by that sweep', async () => {
    const fs = new GatedFileSystem();
    let onAfterBlobs: (() => Promise<void>) | null = null;
    const env = {
      ...realEnv(),
      fs,
      point: async (name: string): Promise<void> => {
        if (name === 'commit.afterBlobs' && onAfterBlobs) {
          const hook = onAfterBlobs;
          onAfterBlobs = null;
          await hook();
        }
      },
    };
    const interval = 500;
    // In place: the step logs and blob writes this race needs are the in-place protocol's.
    const db = await Database.open({ folder, env, maintenance: { sweepIntervalMs: interval, busySweepIntervalMs: interval }, journal: false });
    try {
      await db.transaction('write', async (tx) => {
        const kv = await db.newBtree<number, string>(tx, 'kv', { valueInNode: false, slotLength: 8 });
        for (let i = 0; i < 20; i++) await kv.add(i, `v${i}`);
      });
      await sleep(interval + 50); // the next begin runs a sweep

      // Transaction A's begin starts a sweep, which stops at its readdir of translogs/.
      const reached = fs.arm(`${db.folder}/translogs`);
      const beginA = db.beginTransaction('write');
      await reached;

      // Transaction B begins while that sweep runs. (If begins waited for a running sweep,
      // B's begin would wait: then the gate is opened after a while and nothing can go wrong.)
      const beginB = db.beginTransaction('write');
      const b = await Promise.race([beginB, sleep(300).then(() => null)]);
      let txB: Transaction;
      if (b === null) {
        fs.release();
        txB = await beginB;
      } else txB = b;

      // B writes its step log and blobs; then the sweep reads translogs/ and finishes.
      onAfterBlobs = async () => {
        if (!fs.held) return;
        fs.release();
        await beginA;
      };
      const kv = await db.openBtree<number, string>(txB, 'kv');
      assert.ok(await kv.add(100, 'hundred'));
      assert.ok(await kv.update(5, 'five'));
      await txB.commit();
      await (await beginA).rollback();

      const read = async (d: Database): Promise<[string | undefined, string | undefined]> =>
        d.transaction('read', async (tx) => {
          const t = await d.openBtree<number, string>(tx, 'kv');
          assert.ok(await t.find(100), 'the committed key 100 is there');
          const v100 = await t.getCurrentValue();
          assert.ok(await t.find(5));
          return [v100, await t.getCurrentValue()];
        });
      const values = await read(db).catch((error: unknown) => {
        throw new assert.AssertionError({ message: `a committed transaction lost its blobs (the sweep undid it): ${String(error)}` });
      });
      assert.deepEqual(values, ['hundred', 'five'], 'committed values readable');
      const check = await db.checkStore('kv');
      assert.equal(check.count, 21);
      assert.equal(check.orphanBlobs, 0);
    } finally {
      fs.release();
      await db.close();
    }
    const again = await Database.open({ folder });
    try {
      const check = await again.checkStore('kv');
      assert.equal(check.count, 21);
      assert.deepEqual(readdirSync(join(folder, 'translogs')), []);
    } finally {
      await again.close();
    }
  });
});
