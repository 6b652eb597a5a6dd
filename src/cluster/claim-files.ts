import { crc32 } from '../codec/crc32.js';
import type { Env } from '../ports/env.js';
import { joinPath } from '../util/paths.js';
import { ownerOf, processOf } from './liveness.js';
import { type ClusterWait, checkWait, pause } from './wait.js';

/**
 * A claim that a waiter sees unchanged for this long belongs to a process that died holding it
 * (a rewrite under a claim takes milliseconds) and may be taken over. Measured on the waiter's
 * monotonic clock from when it first saw that claim, not by comparing wall clocks with file
 * times, so clock jumps, rewinds and skew between hosts cannot make a live claim look stale.
 */
export const CLAIM_STALE_MS = 10_000;

/**
 * Storage-anchored claims (spec CLU-2, CLU-3): one file per claimed name, created exclusively
 * (a hard link, which never replaces) in `dir` on the shared storage with its owner already in
 * it, and removed when the task ends. They back the
 * Coordinator's locks: when Redis loses its state (a restart) a second process can take the
 * Redis lock, but not the claim file, so a sector or count rewrite in flight is never
 * interleaved. A claim names its owner (`<call id>@<process id>`): one whose process is dead
 * (CLU-6) is taken over at once; one that says nothing (its bytes lost to a power loss) goes
 * stale after CLAIM_STALE_MS. Either is taken over by renaming it away first.
 */
export async function withClaimFiles<T>(env: Env, dir: string, names: readonly string[], wait: ClusterWait, task: () => Promise<T>): Promise<T> {
  const held: string[] = [];
  const started = env.clock.monotonic();
  const owner = ownerOf(env.random.uuid(), wait.processId);
  wait.liveClaims?.add(owner);
  try {
    for (const name of [...new Set(names)].sort()) {
      const path = joinPath(dir, `${name}.claim`);
      const seen: Sighting = wait.sightings?.get(path) ?? { mtimeMs: -1, since: 0 };
      wait.sightings?.set(path, seen);
      for (let attempt = 1; !(await tryClaim(env, dir, path, seen, owner, wait)); attempt++) {
        checkWait(env, wait, started, `claim ${path}`);
        await pause(env, wait, attempt);
      }
      held.push(path);
      wait.sightings?.delete(path);
    }
    return await task();
  } finally {
    let abandoned = false;
    for (const path of held.reverse()) await env.fs.unlink(path).catch(() => void (abandoned = true)); // left behind: declared abandoned below
    wait.liveClaims?.delete(owner);
    if (abandoned) await wait.abandonClaim?.(owner); // others break it at once; this process does anyway (leftOverHere)
  }
}

/** The claim a waiter keeps finding, and since when (its monotonic clock). */
interface Sighting {
  mtimeMs: number;
  since: number;
}

/** True when this call created the claim; false while someone else holds a live one. */
async function tryClaim(env: Env, dir: string, path: string, seen: Sighting, owner: string, wait: ClusterWait): Promise<boolean> {
  if (await createClaim(env, dir, path, owner)) return true;
  const stat = await env.fs.stat(path);
  if (!stat) return false;
  const holder = decodeClaim(await env.fs.readFile(path).catch(() => new Uint8Array(0))); // gone meanwhile: retried
  if (holder !== null && (leftOverHere(holder, wait) || (await wait.isDeadOwner(holder)) || (await wait.isAbandoned?.(holder)))) {
    await breakClaim(env, dir, path);
    return false;
  }
  const now = env.clock.monotonic();
  if (stat.mtimeMs !== seen.mtimeMs) {
    seen.mtimeMs = stat.mtimeMs; // another claim than before: start watching it afresh
    seen.since = now;
  } else if (now - seen.since > CLAIM_STALE_MS) {
    await breakClaim(env, dir, path);
  }
  return false;
}

/**
 * Creates the claim with its owner already in it: the owner is written to a draft of its own,
 * which is then linked under the claim's name (exclusive: EEXIST when held). A claim created
 * empty and written after (open createNew, then write) named nobody when its process was
 * killed in between, and such a claim only goes stale: each waiter watches it CLAIM_STALE_MS
 * from its own first sighting, so while processes kept being killed sooner than that, a sector
 * stayed blocked for 30 s (found by the multi-process test with lock tracing: five processes in
 * turn took the sector's Redis lock and waited on its claim until killed).
 */
async function createClaim(env: Env, dir: string, path: string, owner: string): Promise<boolean> {
  const draft = `${path}.new-${env.random.uuid()}`;
  try {
    await env.fs.writeFile(draft, encodeClaim(owner)); // not synced: a claim lost to a power loss holds nothing
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
    await env.fs.mkdir(dir).catch(() => undefined); // first claim in this store; a failure shows on the next try
    return false;
  }
  try {
    await env.fs.link(draft, path);
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EEXIST' || code === 'ENOENT') return false; // held; or the draft was tidied away by a waiter (removeStale): tried again
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return createThenWrite(env, path, owner); // storage without hard links
    throw error;
  } finally {
    await env.fs.unlink(draft).catch(() => undefined); // tidying only: removeStale removes a draft left here
  }
}

/**
 * Claims on storage without hard links (some SMB mounts): created empty, then written. A process
 * killed in between leaves a claim that names nobody and only goes stale (CLAIM_STALE_MS).
 */
async function createThenWrite(env: Env, path: string, owner: string): Promise<boolean> {
  let file;
  try {
    file = await env.fs.open(path, 'createNew');
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await file.write(0, encodeClaim(owner)); // not synced: a claim lost to a power loss holds nothing
  } finally {
    await file.close();
  }
  return true;
}

/**
 * A claim this process left behind: its unlink failed (EIO, the drive offline) after the call
 * ended. This process is alive, so others wait CLAIM_STALE_MS; it knows its own calls and breaks
 * it at once (found by the clustered seed 2007423793, where a process waited on its own leftover
 * count claim until its transaction's maxTimeMs).
 */
function leftOverHere(holder: string, wait: ClusterWait): boolean {
  return wait.liveClaims !== undefined && processOf(holder) === wait.processId && !wait.liveClaims.has(holder);
}

/**
 * A claim's bytes: its owner and the owner's CRC-32. A claim whose bytes do not check (bit rot,
 * a torn write) says nothing of its owner and only goes stale: a rotted owner string names a
 * process that does not exist, which would look dead and let a live claim be broken (found by
 * the clustered seed 63 with media bit rot).
 */
function encodeClaim(owner: string): Uint8Array {
  const bytes = new TextEncoder().encode(owner);
  return new TextEncoder().encode(`${owner}#${crc32(bytes).toString(16)}`);
}

/** The owner a claim names, or null when its bytes are empty or do not check. */
function decodeClaim(bytes: Uint8Array): string | null {
  const text = new TextDecoder().decode(bytes);
  const hash = text.lastIndexOf('#');
  if (hash <= 0) return null;
  const owner = text.slice(0, hash);
  return crc32(new TextEncoder().encode(owner)).toString(16) === text.slice(hash + 1) ? owner : null;
}

async function breakClaim(env: Env, dir: string, path: string): Promise<void> {
  await env.fs.rename(path, `${path}.stale-${env.random.uuid()}`).catch(() => undefined); // another waiter broke it first
  await removeStale(env, dir);
}

async function removeStale(env: Env, dir: string): Promise<void> {
  // Tidying only: a stale claim (or a killed claimant's draft) left here is removed by the next
  // one that breaks a claim. A live claimant whose draft goes meanwhile simply tries again.
  for (const name of await env.fs.readdir(dir).catch(() => [] as string[])) {
    if (name.includes('.stale-') || name.includes('.new-')) await env.fs.unlink(joinPath(dir, name)).catch(() => undefined); // tidying only
  }
}
