/**
 * SIGKILL in the middle of a streamed write (spec STREAM-1, STREAM-4): a child process
 * (crash-child.ts) replaces a stream value again and again; the parent kills it mid-stream
 * (after a random number of pieces) or at a named commit point, reopens the folder (recovery)
 * and checks that the value is exactly the last acknowledged one, or the one whose commit was
 * in flight, whole; that the chunk part holds exactly that value's chunks; and that no blob is
 * orphaned. Then it starts the child again on the same folder.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Database } from '../../../src/index.js';
import { TempDirs } from '../../api/helpers.js';
import { CHUNK, sizeOf } from './crash-protocol.js';
import { pattern, storeHealth, valueOf, verified } from './helpers.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.join(HERE, '..', '..', '..');

interface Child {
  readonly proc: ChildProcess;
  readonly lines: string[];
  waitFor(test: (line: string) => boolean): Promise<void>;
  readonly exited: Promise<void>;
}

function start(folder: string, first: number, crashAt?: string): Child {
  const env: NodeJS.ProcessEnv = { ...process.env, SOP_FOLDER: folder, SOP_FIRST: String(first) };
  delete env.SOP_CRASH_AT;
  delete env.SOP_JOURNAL;
  if (crashAt) env.SOP_CRASH_AT = crashAt;
  if (crashAt && !crashAt.startsWith('journal.')) env.SOP_JOURNAL = '0'; // the in-place protocol's steps
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'crash-child.ts')], { env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ test: (l: string) => boolean; resolve: () => void }> = [];
  let partial = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (text: string) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of waiters.splice(0)) (w.test(line) ? w.resolve() : waiters.push(w));
    }
  });
  let stderr = '';
  proc.stderr!.on('data', (t: Buffer) => (stderr += t.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  return {
    proc,
    lines,
    exited,
    waitFor: (test) =>
      new Promise<void>((resolve, reject) => {
        if (lines.some(test)) return resolve();
        waiters.push({ test, resolve });
        void exited.then(() => reject(new Error(`child exited first: ${lines.slice(-5).join(' / ')} ${stderr.slice(-500)}`)));
      }),
  };
}

/** The values the folder may hold after a kill: the last acknowledged one, or the one in flight. */
function candidates(lines: string[], acked: number): { acked: number; inFlight: number | null } {
  let last = acked;
  let tried: number | null = null;
  for (const line of lines) {
    const [word, k] = line.split(' ');
    if (word === 'TRY') tried = Number(k);
    if (word === 'ACK') {
      last = Number(k);
      tried = null;
    }
  }
  return { acked: last, inFlight: tried };
}

describe('layers/stream: SIGKILL during a streamed write', function () {
  this.timeout(300_000);
  const dirs = new TempDirs();
  after(() => dirs.cleanup());

  it('after recovery the value is the last acknowledged one or the one in flight, whole, with no orphan chunk (STREAM-1, STREAM-4)', async () => {
    const folder = path.join(dirs.make('sop-stream-crash-'), 'db');
    // Round kinds: kill after a random piece (mid-stream, journal mode: the default), or at a step of
    // the 2nd commit of the run: in place (commit.*, cow.*) or in journal mode (journal.*). One
    // folder goes through both protocols: each open replays what the other left (JNL-4, REC-1).
    const rounds = ['mid', 'mid', 'commit.afterPrepareLog:2', 'mid', 'commit.afterBlobs:2', 'journal.afterRecord:2', 'commit.afterPlg:2', 'mid', 'journal.afterApply:2', 'cow.afterSectorWrite:2'];
    let acked = 0;
    let next = 1;
    let midStreamKills = 0;
    for (const [round, kind] of rounds.entries()) {
      const child = start(folder, next, kind === 'mid' ? undefined : kind);
      if (kind === 'mid') {
        // Wait for the second value's stream to be some pieces in, then kill.
        const piece = 1 + ((round * 7) % 9);
        await child.waitFor((l) => l === `PIECE ${next + 1} ${piece}`);
        child.proc.kill('SIGKILL');
        midStreamKills++;
      }
      await child.exited;
      assert.ok(!child.lines.some((l) => l.startsWith('ERR')), child.lines.filter((l) => l.startsWith('ERR')).join('\n'));
      if (kind !== 'mid') assert.ok(child.lines.some((l) => l.startsWith('KILL')), `round ${round}: the child did not reach ${kind}`);
      const { acked: a, inFlight } = candidates(child.lines, acked);
      const db = await Database.open({ folder });
      try {
        const got = await db.transaction('read', async (tx) => valueOf(await db.openStreamStore(tx, 'media'), 'v'));
        const matches = (k: number): boolean => k > 0 && got !== undefined && Buffer.from(got).equals(Buffer.from(pattern(sizeOf(k), k)));
        const now = matches(a) ? a : inFlight !== null && matches(inFlight) ? inFlight : -1;
        assert.ok(now > 0, `round ${round} (${kind}): value of ${got?.length} bytes is neither acknowledged value ${a} nor in-flight ${inFlight}`);
        if (kind === 'mid') assert.equal(now, a, 'a kill mid-stream leaves the acknowledged value');
        acked = now;
        next = now + 1;
        assert.deepEqual(await storeHealth(db), { orphans: 0, metas: 1, chunks: Math.ceil(sizeOf(now) / CHUNK) });
        assert.deepEqual(await verified(db), { values: 1, chunks: Math.ceil(sizeOf(now) / CHUNK), abandoned: 0, problems: [] });
      } finally {
        await db.close();
      }
    }
    assert.equal(midStreamKills, 4);
  });
});
