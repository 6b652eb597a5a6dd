/**
 * Crash child of crash.test.ts: opens the folder and replaces the stream value 'v' again and
 * again, value k being pattern(SIZE_k, k), streamed in small pieces so a kill lands mid-stream.
 * Lines: `OPEN <recovery>`, `STREAM k` (stream started), `PIECE k i` (piece i written into the
 * Writable), `TRY k` (commit starts), `ACK k` (committed). SOP_CRASH_AT=<point>:<n> kills itself
 * at the n-th hit of a named engine crash point (e.g. commit.afterBlobs); SOP_JOURNAL=0 opens
 * the folder in place (`journal: false`), the protocol whose steps the commit.* and cow.* points name.
 */
import { writeSync } from 'node:fs';
import { Database, realEnv } from '../../../src/index.js';
import { CHUNK, sizeOf } from './crash-protocol.js';
import { pattern } from './helpers.js';

const PIECE = 1000;

const out = (line: string): void => {
  const bytes = Buffer.from(`${line}\n`);
  let written = 0;
  while (written < bytes.length) written += writeSync(1, bytes, written);
};

async function main(folder: string, first: number): Promise<void> {
  const crashAt = process.env.SOP_CRASH_AT ? /^(.+):(\d+)$/.exec(process.env.SOP_CRASH_AT) : null;
  const hits = new Map<string, number>();
  const point = (name: string): void | Promise<void> => {
    const n = (hits.get(name) ?? 0) + 1;
    hits.set(name, n);
    if (crashAt && crashAt[1] === name && Number(crashAt[2]) === n) {
      out(`KILL ${name}:${n}`);
      process.kill(process.pid, 'SIGKILL');
      return new Promise<void>(() => undefined);
    }
  };
  // SOP_JOURNAL=0: commit in place, whose steps the commit.* and cow.* points name; default: journal mode.
  const db = await Database.open({ folder, env: { ...realEnv(), point }, ...(process.env.SOP_JOURNAL === '0' ? { journal: false } : {}) });
  out(`OPEN ${JSON.stringify(db.recovery)}`);
  for (let k = first; ; k++) {
    // A crash point never reached would loop for ever: the parent waits for the exit.
    if (crashAt && k > first + 5) throw new Error(`point ${crashAt[0]} not reached in 5 commits`);
    const bytes = pattern(sizeOf(k), k);
    const tx = await db.beginTransaction('write');
    const media = await db.newStreamStore(tx, 'media', { chunkSize: CHUNK });
    const ws = media.createWriteStream('v');
    out(`STREAM ${k}`);
    for (let at = 0, i = 0; at < bytes.length; at += PIECE, i++) {
      await new Promise<void>((resolve, reject) => ws.write(bytes.subarray(at, at + PIECE), (e) => (e ? reject(e) : resolve())));
      out(`PIECE ${k} ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 2)); // so a random kill often lands mid-stream
    }
    await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
    out(`TRY ${k}`);
    await tx.commit();
    out(`ACK ${k}`);
  }
}

main(process.env.SOP_FOLDER!, Number(process.env.SOP_FIRST ?? 1)).catch((error: unknown) => {
  out(`ERR ${error instanceof Error ? `${error.message} ${error.stack}` : String(error)}`.replace(/\n/g, ' | '));
  process.exit(3);
});
