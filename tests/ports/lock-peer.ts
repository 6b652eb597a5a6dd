/**
 * Another process for the FileSystem conformance suite: takes locks through the real adapter
 * on request and keeps them until it is killed. Reads one command per stdin line,
 * `{"path","mode","owner"}`, and answers one JSON line: `{"held":true}` or `{"heldBy":"…"}`.
 */
import { createInterface } from 'node:readline';
import { NodeFileSystem } from '../../src/adapters/node-file-system.js';
import type { FileLock } from '../../src/ports/file-system.js';

const fs = new NodeFileSystem();
const held: FileLock[] = [];
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const { path, mode, owner } = JSON.parse(line) as { path: string; mode: 'exclusive' | 'shared'; owner: string };
  fs.lock(path, mode, owner).then(
    (got) => {
      if ('heldBy' in got) process.stdout.write(`${JSON.stringify({ heldBy: got.heldBy })}\n`);
      else {
        held.push(got);
        process.stdout.write(`${JSON.stringify({ held: true })}\n`);
      }
    },
    (error: unknown) => process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`),
  );
});
lines.on('close', () => process.exit(0)); // the test process went away: so does this one
setInterval(() => undefined, 60_000); // lives until killed, holding its locks
process.stdout.write('ready\n');
