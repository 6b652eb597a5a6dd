import { genId } from './tx-state.js';
import type { ChunkIO } from './chunk-io.js';
import { type Meta, checkMeta, chunkCount, chunkLength } from './meta.js';

export interface StreamVerifyReport {
  /** Values with a visible generation. */
  readonly values: number;
  /** Chunks of visible values. */
  readonly chunks: number;
  /** Chunks of generations a committed transaction left pending (reclaimed by the next change to their value, STREAM-4). */
  readonly abandoned: number;
  /** What is inconsistent: a chunk no value owns, a missing chunk, a chunk of the wrong length, malformed metadata. */
  readonly problems: string[];
}

/**
 * Walks both trees of the store (the caller holds the lock) and checks that every chunk belongs
 * to a value's current generation at an index below its chunk count, with the length the value's
 * size gives it, and that no chunk of a value is missing (spec STREAM-4). Reads every chunk.
 */
export async function verifyStore(io: ChunkIO): Promise<StreamVerifyReport> {
  const problems: string[] = [];
  const metas = new Map<string, Meta>();
  for await (const [name, raw] of io.metaEntries()) {
    try {
      metas.set(name, checkMeta(raw, name));
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  const seen = new Map<string, number>();
  let abandoned = 0;
  for await (const [[name, gen, index], bytes] of io.chunkEntries()) {
    const meta = metas.get(name);
    const where = `chunk ${index} of generation ${gen} of ${JSON.stringify(name)}`;
    if (meta?.gen === gen) {
      const expected = chunkLength(meta.size, io.chunkSize, index);
      if (expected === 0) problems.push(`${where}: past the end of the value (${meta.size} bytes)`);
      else if (!(bytes instanceof Uint8Array) || bytes.length !== expected) problems.push(`${where}: ${bytes instanceof Uint8Array ? bytes.length : typeof bytes} bytes, expected ${expected}`);
      seen.set(name, (seen.get(name) ?? 0) + 1);
    } else if (meta?.pending.includes(gen)) {
      if (!io.state.liveGens.has(genId(name, gen))) abandoned++;
    } else {
      problems.push(`${where}: no value owns it`);
    }
  }
  let values = 0;
  let chunks = 0;
  for (const [name, meta] of metas) {
    if (meta.gen === null) {
      if (meta.pending.length === 0) problems.push(`${JSON.stringify(name)}: metadata without a value or a pending stream`);
      continue;
    }
    values++;
    const count = chunkCount(meta.size, io.chunkSize);
    chunks += count;
    if ((seen.get(name) ?? 0) !== count) problems.push(`${JSON.stringify(name)}: ${seen.get(name) ?? 0} chunks of ${count}`);
  }
  return { values, chunks, abandoned, problems };
}
