import { SopError } from '../errors/sop-error.js';
import type { Env } from '../ports/env.js';
import { joinPath } from '../util/paths.js';

/**
 * A claim that a waiter sees unchanged for this long belongs to a process that died holding it
 * (a rewrite under a claim takes milliseconds) and may be taken over. Measured on the waiter's
 * monotonic clock from when it first saw that claim, not by comparing wall clocks with file
 * times, so clock jumps, rewinds and skew between hosts cannot make a live claim look stale.
 */
export const CLAIM_STALE_MS = 10_000;
const WAIT_LIMIT_MS = 60_000;

/**
 * Storage-anchored claims (spec CLU-2, CLU-3): one file per claimed name, created exclusively
 * (O_EXCL) in `dir` on the shared storage and removed when the task ends. They back the
 * Coordinator's locks: when Redis loses its state (a restart) a second process can take the
 * Redis lock, but not the claim file, so a sector or count rewrite in flight is never
 * interleaved. A claim left by a killed process goes stale after CLAIM_STALE_MS and is taken
 * over by renaming it away first.
 */
export async function withClaimFiles<T>(env: Env, dir: string, names: readonly string[], task: () => Promise<T>): Promise<T> {
  const held: string[] = [];
  const started = env.clock.monotonic();
  try {
    for (const name of [...new Set(names)].sort()) {
      const path = joinPath(dir, `${name}.claim`);
      const seen: Sighting = { mtimeMs: -1, since: 0 };
      for (let attempt = 1; !(await tryClaim(env, dir, path, seen)); attempt++) {
        if (env.clock.monotonic() - started > WAIT_LIMIT_MS) throw new SopError('UNAVAILABLE', `claim ${path} stayed busy for ${WAIT_LIMIT_MS} ms`);
        await env.clock.sleep(1 + Math.floor(env.random.nextFloat() * Math.min(50, 2 * attempt)));
      }
      held.push(path);
    }
    return await task();
  } finally {
    for (const path of held.reverse()) await env.fs.unlink(path).catch(() => undefined);
  }
}

/** The claim a waiter keeps finding, and since when (its monotonic clock). */
interface Sighting {
  mtimeMs: number;
  since: number;
}

/** True when this call created the claim; false while someone else holds a live one. */
async function tryClaim(env: Env, dir: string, path: string, seen: Sighting): Promise<boolean> {
  try {
    await (await env.fs.open(path, 'createNew')).close();
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') {
      await env.fs.mkdir(dir).catch(() => undefined); // first claim in this store
      return false;
    }
    if (code !== 'EEXIST') throw error;
  }
  const stat = await env.fs.stat(path);
  if (!stat) return false;
  const now = env.clock.monotonic();
  if (stat.mtimeMs !== seen.mtimeMs) {
    seen.mtimeMs = stat.mtimeMs; // another claim than before: start watching it afresh
    seen.since = now;
  } else if (now - seen.since > CLAIM_STALE_MS) {
    await env.fs.rename(path, `${path}.stale-${env.random.uuid()}`).catch(() => undefined);
    await removeStale(env, dir);
  }
  return false;
}

async function removeStale(env: Env, dir: string): Promise<void> {
  for (const name of await env.fs.readdir(dir).catch(() => [] as string[])) {
    if (name.includes('.stale-')) await env.fs.unlink(joinPath(dir, name)).catch(() => undefined);
  }
}
