/**
 * Child of crash.test.ts: writes batches of vectors until it is SIGKILLed. Batch b upserts
 * v<b>-0..9 and removes the even ones of batch b-3, in one transaction; it prints "TRY b" before
 * the commit and "ACK b" once it resolved. Env: SOP_FOLDER, SOP_JOURNAL ('1': journal mode).
 */
import { writeSync } from 'node:fs';
import { Database } from '../../../src/index.js';
import { batchVector } from './crash-protocol.js';

const out = (line: string): void => void writeSync(1, `${line}\n`);
const folder = process.env.SOP_FOLDER!;
const db = await Database.open({ folder, ...(process.env.SOP_JOURNAL === '1' ? { journal: { maxRecords: 4 } } : {}) });
await db.transaction('write', async (tx) => void (await db.newVectorStore(tx, 'crash', { dimensions: 8, metric: 'cosine', clusterAt: 24 })));
out('READY');
for (let b = 0; ; b++) {
  const tx = await db.beginTransaction('write');
  const vs = await db.openVectorStore(tx, 'crash');
  for (let i = 0; i < 10; i++) await vs.upsert(`v${b}-${i}`, batchVector(b, i), { b, i });
  if (b >= 3) for (let i = 0; i < 10; i += 2) await vs.remove(`v${b - 3}-${i}`);
  out(`TRY ${b}`);
  await tx.commit();
  out(`ACK ${b}`);
}
