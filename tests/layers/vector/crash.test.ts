/**
 * SIGKILL in the middle of vector writes (a child process, killed at a random moment), then
 * reopen: every acknowledged batch is there with its exact vectors, the batch in flight is all
 * or nothing, nothing else exists, and index ≡ data (VEC-1, VEC-2).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Database } from '../../../src/index.js';
import { batchVector, expectedAfter } from './crash-protocol.js';
import { TempDirs, prng } from './helpers.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..', '..');

interface Killed {
  acked: number;
  tried: number;
}

/** Kills the child once `at` batches were acknowledged (between commits), or right as batch `at`'s commit starts. */
async function runAndKill(folder: string, journal: boolean, at: number, during: boolean): Promise<Killed> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'crash-child.ts')], {
    env: { ...process.env, SOP_FOLDER: folder, SOP_JOURNAL: journal ? '1' : '0' },
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let acked = -1;
  let tried = -1;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let buffer = '';
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith('ACK ')) acked = Number(line.slice(4));
      if (line.startsWith('TRY ')) tried = Number(line.slice(4));
      if ((during ? tried : acked) >= at) child.kill('SIGKILL');
    }
  });
  const signal = await exited;
  assert.equal(signal, 'SIGKILL', `the child exited by itself: ${stderr}`);
  return { acked, tried };
}

describe('vector store: SIGKILL during writes, then recovery (VEC-1, VEC-2)', function () {
  this.timeout(300_000);
  const dirs = new TempDirs();
  after(() => dirs.cleanup());
  const rand = prng(99);

  for (const journal of [false, true]) {
    it(`${journal ? 'journal mode' : 'in-place commits'}: acknowledged batches survive exactly, the one in flight is all or nothing`, async () => {
      const folder = dirs.make();
      for (let round = 0; round < 4; round++) {
        const { acked, tried } = await runAndKill(folder, journal, 6 + Math.floor(rand() * 14), round % 2 === 1);
        const db = await Database.open({ folder });
        try {
          await db.transaction('read', async (tx) => {
            const vs = await db.openVectorStore(tx, 'crash');
            assert.deepEqual((await vs.verify()).problems, []);
            // The batch in flight (tried, maybe not acknowledged) decides the last committed one.
            const inFlight = tried > acked ? tried : acked;
            const committed = (await vs.get(`v${inFlight}-1`)) !== undefined ? inFlight : acked;
            assert.ok(committed >= acked, 'an acknowledged batch is lost');
            let expected = 0;
            for (let b = 0; b <= committed + 1; b++) {
              for (let i = 0; i < 10; i++) {
                const got = await vs.get(`v${b}-${i}`);
                const want = expectedAfter(committed, b, i);
                assert.equal(got !== undefined, want, `v${b}-${i} after batch ${committed} (acked ${acked}, tried ${tried})`);
                if (got) assert.deepEqual([got.vector, got.metadata], [batchVector(b, i), { b, i }]);
                if (want) expected++;
              }
            }
            assert.equal(vs.count, expected);
          });
          // The folder goes on: the next round's child continues from a clean state.
          await db.transaction('write', async (tx) => {
            const vs = await db.openVectorStore(tx, 'crash');
            for (let b = 0; b < 1000 && vs.count > 0; b++) for (let i = 0; i < 10; i++) await vs.remove(`v${b}-${i}`);
            assert.equal(vs.count, 0);
          });
        } finally {
          await db.close();
        }
      }
    });
  }
});
