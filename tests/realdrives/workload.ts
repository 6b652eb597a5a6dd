/**
 * What the real-drive suites run and check: concurrent writers committing through the public
 * API (each transaction adds a few keys of its own), a record of every attempt and its outcome,
 * and a check that every acknowledged commit reads back, no failed commit is half there, and the
 * store's structure and count agree (STRUCT-1).
 */
import { strict as assert } from 'node:assert';
import { Database, SopError } from '../../src/index.js';
import { unavailable } from './drives.js';

export const STORE = 'items';
const PER_COMMIT = 3;

export function valueOf(key: number): string {
  return `value ${key} ${'#'.repeat(40 + (key % 97))}`;
}

export interface Attempt {
  readonly keys: readonly number[];
  readonly outcome: 'ok' | 'failed';
  readonly error?: unknown;
}

/** Creates the store the writers use (one transaction). */
export async function createStore(db: Database): Promise<void> {
  await db.transaction('write', async (tx) => {
    await db.newBtree<number, string>(tx, STORE, { slotLength: 16 });
  });
}

const running = new Set<Writers>();

/**
 * Stops every writer still running (an afterEach hook: a failed case must not leave writers
 * behind). Waits for their commits in flight at most `waitMs`: a commit stuck on a dead drive
 * must not keep the drives from being cleaned up.
 */
export async function stopAllWriters(waitMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
  await Promise.race([Promise.all([...running].map((w) => w.stop())), waited]);
  clearTimeout(timer);
}

/** `count` writers committing in a loop until stopped; keys are writer × 10^6 + sequence, unique per attempt. */
export class Writers {
  readonly attempts: Attempt[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly db: Database,
    count: number,
    private readonly base = 0,
  ) {
    for (let w = 0; w < count; w++) this.loops.push(this.loop(w));
    running.add(this);
  }

  get acked(): number[] {
    return this.attempts.filter((a) => a.outcome === 'ok').flatMap((a) => a.keys);
  }

  get failures(): Attempt[] {
    return this.attempts.filter((a) => a.outcome === 'failed');
  }

  /** Resolves once `n` more keys than now are acknowledged; rejects when the writers keep failing instead. */
  async more(n: number): Promise<void> {
    const target = this.acked.length + n;
    const failedBefore = this.failures.length;
    while (this.acked.length < target) {
      if (this.failures.length - failedBefore > 50) throw new Error(`writers keep failing: ${describe(this.failures.at(-1)?.error)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    running.delete(this);
    await Promise.all(this.loops);
  }

  private async loop(w: number): Promise<void> {
    for (let seq = 0; !this.stopped; seq++) {
      const keys = Array.from({ length: PER_COMMIT }, (_, j) => this.base + w * 1_000_000 + seq * PER_COMMIT + j);
      try {
        await this.db.transaction(
          'write',
          async (tx) => {
            const tree = await this.db.openBtree<number, string>(tx, STORE);
            for (const k of keys) await tree.add(k, valueOf(k));
          },
          { retries: 30 },
        );
        this.attempts.push({ keys, outcome: 'ok' });
      } catch (error) {
        this.attempts.push({ keys, outcome: 'failed', error });
        await new Promise((resolve) => setTimeout(resolve, 2)); // a failing drive: do not spin
      }
    }
  }
}

export function describe(error: unknown): string {
  if (error === undefined) return 'none';
  const e = error as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  return `${String(e.code ?? '')} ${String(e.message ?? error)}${e.cause ? ` (cause: ${String(e.cause.code ?? '')} ${String(e.cause.message ?? '')})` : ''}`.slice(0, 500);
}

/**
 * While writers run: every key acknowledged so far reads back with its value, in read
 * transactions (retried on CONFLICT: a reader validates against concurrent commits).
 */
export async function assertReads(db: Database, attempts: readonly Attempt[]): Promise<void> {
  const acked = attempts.filter((a) => a.outcome === 'ok').flatMap((a) => a.keys);
  await db.transaction(
    'read',
    async (tx) => {
      const tree = await db.openBtree<number, string>(tx, STORE);
      for (const k of acked) {
        assert.equal(await tree.find(k), true, `acknowledged key ${k} lost`);
        assert.equal(await tree.getCurrentValue(), valueOf(k), `value of key ${k}`);
      }
    },
    { retries: 30 },
  );
}

/**
 * With no writer running: every acknowledged key reads back with its value; each failed
 * attempt is all there or not at all (nothing partial); the structure check passes and the
 * count is exactly what reads back (STRUCT-1). Returns the keys present.
 */
export async function assertStore(db: Database, attempts: readonly Attempt[]): Promise<number> {
  let present = 0;
  await db.transaction('read', async (tx) => {
    const tree = await db.openBtree<number, string>(tx, STORE);
    for (const attempt of attempts) {
      const found: boolean[] = [];
      for (const k of attempt.keys) {
        const hit = await tree.find(k);
        found.push(hit);
        if (hit) assert.equal(await tree.getCurrentValue(), valueOf(k), `value of key ${k}`);
      }
      if (attempt.outcome === 'ok') assert.ok(found.every(Boolean), `acknowledged commit lost: keys ${attempt.keys.join(',')} found ${found.join(',')}`);
      else assert.ok(found.every(Boolean) || !found.some(Boolean), `a failed commit is partly there: keys ${attempt.keys.join(',')} found ${found.join(',')}`);
      present += found.filter(Boolean).length;
    }
  });
  const check = await db.checkStore(STORE); // throws CORRUPT on a broken tree, count or reference
  assert.equal(check.count, present, `count ${check.count}, keys that read back ${present}`);
  return present;
}

/** Every failure is a typed SopError (never a raw Node error or a crash). */
export function assertTyped(attempts: readonly Attempt[]): void {
  for (const a of attempts) if (a.outcome === 'failed') assert.ok(SopError.is(a.error), `untyped error: ${describe(a.error)}`);
}

/**
 * Skips the calling suite when real drives cannot be made here, with the reason in the output
 * and in each skipped test's title (mocha's skip takes no message). Call from `before`.
 */
export function skipUnlessRealDrives(ctx: Mocha.Context): void {
  const reason = unavailable();
  if (reason === null) return;
  console.log(`    real drives skipped: ${reason}`);
  const suite = ctx.test?.parent;
  for (const test of suite?.tests ?? []) test.title += ` [skipped: ${reason}]`;
  ctx.skip();
}
