import type { Env } from '../ports/env.js';

/** How long a claim owner declared abandoned stays known (longer than anyone watches a claim). */
const ABANDONED_TTL_MS = 10 * 60_000;

/** Owner strings of a process's locks: `<tid or call id>@<process id>`. */
export function ownerOf(holder: string, processId: string): string {
  return `${holder}@${processId}`;
}

/** The process id inside an owner string, or null for an owner of another form. */
export function processOf(owner: string): string | null {
  const at = owner.lastIndexOf('@');
  return at < 0 ? null : owner.slice(at + 1);
}

/** The holder (transaction id) inside an owner string. */
export function holderOf(owner: string): string {
  const at = owner.lastIndexOf('@');
  return at < 0 ? owner : owner.slice(0, at);
}

/**
 * Liveness of clustered processes (spec CLU-6). Each process keeps a key
 * `<ns>:proc:<id>` with a TTL of `ttlMs`, re-armed five times per TTL. Every lock it takes
 * names it (`<tid>@<id>`), so a process that finds a key locked can tell, in seconds, whether
 * the holder is gone: its key is missing and Redis has kept its state (same run id) for at
 * least a TTL (a restart drops every key until the next heartbeats re-create them). A dead
 * holder's transaction is then recovered and its locks broken at once, instead of after their
 * TTL (a transaction's maxTimeMs, 15 min by default).
 *
 * A process that was only paused (GC, swap) longer than its TTL may have been called dead and
 * its locks broken: when its heartbeat finds its key gone it bumps `generation`, and every
 * transaction that locked under an older generation fails its pre-commit check (LOCK-3); the
 * priority-log fence (recovery.ts) stops one already past that check.
 */
export class ProcessLiveness {
  readonly id: string;
  private generationValue = 0;
  private readonly stop = new AbortController();
  /** The Coordinator's run id as last seen, and since when (monotonic): keys are trusted a TTL after it changes. */
  private runId: { id: string; since: number } | null = null;
  private running: Promise<void> = Promise.resolve();
  /** Coordinator calls Redis did not confirm (releases, abandoned claims), by what they do: retried by every heartbeat. */
  private readonly unconfirmed = new Map<string, () => Promise<unknown>>();
  /** Claim owners this process declared abandoned, and when (monotonic): declared again when Redis lost its state. */
  private readonly abandoned = new Map<string, number>();

  constructor(
    private readonly env: Env,
    private readonly namespace: string,
    readonly ttlMs: number,
  ) {
    this.id = env.random.uuid();
  }

  /** Bumped whenever this process's key had to be created again: others may have called it dead meanwhile. */
  get generation(): number {
    return this.generationValue;
  }

  private key(processId: string): string {
    return `${this.namespace}:proc:${processId}`;
  }

  /** Registers this process and starts its heartbeat; before any lock is taken. */
  async start(): Promise<void> {
    await this.env.coordinator.lock(this.key(this.id), this.id, this.ttlMs);
    // Nobody is called dead in this process's first TTL: it cannot tell a restart it missed.
    this.runId = { id: await this.env.coordinator.runId(), since: this.env.clock.monotonic() };
    this.running = this.heartbeat();
  }

  /** Stops the heartbeat and removes the key (a clean close is not a death). */
  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
    await this.retryUnconfirmed();
    await this.env.coordinator.unlock(this.key(this.id), this.id).catch(() => false); // the key expires by its TTL
  }

  private async heartbeat(): Promise<void> {
    const beat = Math.max(1, Math.floor(this.ttlMs / 5));
    while (!this.stop.signal.aborted) {
      try {
        await this.env.clock.sleep(beat, this.stop.signal, true);
      } catch {
        return; // closed
      }
      try {
        if (await this.env.coordinator.extend(this.key(this.id), this.id, this.ttlMs)) {
          await this.retryUnconfirmed();
          continue;
        }
        // Gone: expired while this process could not beat (a pause) or dropped by a Redis
        // restart. Either way others may have called it dead: transactions locked before now must not commit.
        this.generationValue++;
        await this.env.coordinator.lock(this.key(this.id), this.id, this.ttlMs);
        await this.declareAbandonedAgain();
      } catch {
        this.generationValue++; // Redis unreachable: the key may expire meanwhile; the next beat re-creates it
      }
    }
  }

  /**
   * Releases a lock this process holds (compare-and-delete on `owner`). When Redis does not
   * confirm it (cut off, a reply lost) the release is kept and retried by every heartbeat: a
   * live process's lock cannot be taken over (CLU-6), so a dropped release would block everyone
   * until the lock's TTL — 30 s for a short lock, a transaction's maxTimeMs for its own (found by
   * the clustered seed 1728281389: a store lock whose unlock met a Redis cut-off held off the
   * other processes for 23 s). Retrying is safe: a lock taken by another owner since is not
   * touched, and `takenAgain` tells a key the same owner locked again (a commit retrying its lock set).
   */
  release(key: string, owner: string, takenAgain: () => boolean = () => false): Promise<void> {
    return this.confirmed(`unlock\n${key}\n${owner}`, async () => {
      if (!takenAgain()) await this.env.coordinator.unlock(key, owner); // the same owner took it again: nothing to release
    });
  }

  /**
   * Says a claim file of this process is abandoned: its call ended but the file could not be
   * removed (EIO, the drive offline). Its owner string is never used again, so other processes
   * may break it at once instead of watching it go stale (CLAIM_STALE_MS), which would outlast
   * a commit's maxTimeMs (found by the clustered seed 1688640907). Kept ABANDONED_TTL_MS.
   */
  abandonClaim(owner: string): Promise<void> {
    const now = this.env.clock.monotonic();
    for (const [old, since] of this.abandoned) if (now - since > ABANDONED_TTL_MS) this.abandoned.delete(old);
    if (!this.abandoned.has(owner)) this.abandoned.set(owner, now);
    return this.confirmed(`gone\n${owner}`, () => this.env.coordinator.lock(this.abandonedKey(owner), this.id, ABANDONED_TTL_MS));
  }

  /**
   * This process's key was gone: a Redis restart may have dropped the abandoned marks too, and
   * without them others watch each leftover claim for CLAIM_STALE_MS (found by the clustered
   * seed 587308406: a peer death took 15.6 s to get past, 10 s of it on such a claim).
   */
  private async declareAbandonedAgain(): Promise<void> {
    for (const owner of [...this.abandoned.keys()]) await this.abandonClaim(owner);
  }

  /** Whether the claim owner `owner` was declared abandoned by its process (abandonClaim). */
  async isAbandoned(owner: string): Promise<boolean> {
    return (await this.env.coordinator.owner(this.abandonedKey(owner))) !== null;
  }

  private abandonedKey(owner: string): string {
    return `${this.namespace}:gone:${owner}`;
  }

  /** Runs `call`; when Redis does not confirm it, keeps it for the heartbeat (bounded; past the bound TTLs and staleness free what it would have). */
  private async confirmed(what: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch {
      if (this.unconfirmed.size < 10_000) this.unconfirmed.set(what, call); // retried by the heartbeat
    }
  }

  /** Retries the calls Redis did not confirm; stops at the first failure (Redis still away). */
  private async retryUnconfirmed(): Promise<void> {
    for (const [what, call] of [...this.unconfirmed]) {
      try {
        await call();
      } catch {
        return; // still unreachable: the next heartbeat tries again
      }
      this.unconfirmed.delete(what);
    }
  }

  /**
   * Whether this process may still act on what it locked under `generation`: its key is still
   * there and was never re-created since. Checked right before and right after a commit point.
   */
  async stillAlive(generation: number): Promise<boolean> {
    if (generation !== this.generationValue) return false;
    return (await this.env.coordinator.extend(this.key(this.id), this.id, this.ttlMs)) && generation === this.generationValue;
  }

  /**
   * Whether the process that holds `owner` is dead: its key is missing although Redis has kept
   * its state for a whole TTL (every live process re-armed its key since). False for this
   * process and for owners without a process id.
   */
  async isDeadOwner(owner: string): Promise<boolean> {
    const processId = processOf(owner);
    if (processId === null || processId === this.id) return false;
    if ((await this.env.coordinator.owner(this.key(processId))) !== null) return false;
    const id = await this.env.coordinator.runId();
    const now = this.env.clock.monotonic();
    if (this.runId?.id !== id) {
      this.runId = { id, since: now }; // Redis lost its state: live processes may not have re-armed yet
      return false;
    }
    return now - this.runId.since >= this.ttlMs;
  }
}
