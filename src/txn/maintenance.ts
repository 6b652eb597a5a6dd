import type { Env } from '../ports/env.js';
import type { StoreRepository } from '../store/store-repository.js';
import type { IncidentSink } from '../util/incidents.js';
import { type RecoveryReport, type ScanOptions, recover, scanLogs } from './recovery.js';

export interface MaintenanceOptions {
  /** Base cadence of the priority-log sweep (README: 5 min; defaults in database/resolve-options.ts). */
  sweepIntervalMs?: number;
  /** Cadence after a sweep that found work (README: 2 min). */
  busySweepIntervalMs?: number;
}

/** How long a sweep may hold the cluster-wide sweep lock before others may take over. */
const SWEEP_LOCK_TTL_MS = 60_000;

/**
 * onIdle (SOP README "Transaction idle maintenance"): piggybacks on transaction begin, and
 * really runs (SOP's never does, sop-engine.md E88). Each sweep finishes dead transactions
 * with the same recovery as open (redo, cleanup, undo); the Coordinator lock makes exactly one
 * worker run a given sweep (spec IDLE-1). The first call after open is the restart fast path.
 */
export class Maintenance {
  private lastRun = -Infinity;
  private foundWork = true;
  private running: Promise<RecoveryReport | null> | null = null;
  readonly totals: RecoveryReport = { redone: 0, undone: 0, cleaned: 0 };
  sweeps = 0;
  /** Journal mode: the checkpoint every sweep runs (spec JNL-3). */
  checkpoint: (() => Promise<void>) | undefined;

  constructor(
    private readonly env: Env,
    private readonly translogs: string,
    private readonly repo: StoreRepository,
    private readonly namespace: string,
    private readonly isLive: (tid: string) => boolean | Promise<boolean>,
    private readonly options: Required<MaintenanceOptions>,
    /** Several processes share the folder: one sweep at a time through the Coordinator. */
    private readonly clustered = false,
    private readonly scan: ScanOptions = {},
    private readonly incident: IncidentSink = () => undefined,
  ) {}

  /** Called from every beginTransaction: runs a sweep when its cadence is due. */
  async onIdle(): Promise<void> {
    const interval = this.foundWork ? this.options.busySweepIntervalMs : this.options.sweepIntervalMs;
    if (this.env.clock.monotonic() - this.lastRun < interval) return;
    await this.sweep();
  }

  /** One sweep now (also used by tests and `sop repair`). Concurrent callers share it. */
  sweep(): Promise<RecoveryReport | null> {
    this.running ??= this.runSweep().finally(() => (this.running = null));
    return this.running;
  }

  /** Resolves once a sweep in progress has ended (Database.close waits for it). */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined); // the sweep's caller got its error
  }

  private async runSweep(): Promise<RecoveryReport | null> {
    this.lastRun = this.env.clock.monotonic();
    const key = `${this.namespace}:sweep`;
    const owner = this.env.random.uuid();
    if (this.clustered && (await this.env.coordinator.lock(key, owner, SWEEP_LOCK_TTL_MS)) !== null) return null;
    try {
      const states = await scanLogs(this.env, this.translogs, this.isLive, this.scan);
      // Clustered: sweeps of other processes, take-overs and fast paths recover concurrently; a
      // fence decides who undoes (recovery.ts, CLU-6).
      const report = await recover(this.env, this.translogs, this.repo, states, { fence: this.clustered });
      this.foundWork = states.length > 0;
      this.sweeps++;
      this.totals.redone += report.redone;
      this.totals.undone += report.undone;
      this.totals.cleaned += report.cleaned;
      // Hidden store leftovers (a creation or removal that failed or died) are cleared by sweeps
      // too, not only at open; clustered, once they stayed quiet (CLU-4).
      await this.repo.clearHidden();
      // Lazy EC repair: blobs that degraded reads or writes met get full redundancy back (EC-3).
      // Failures are reported and left for the next sweep, which tries again.
      for (const store of this.repo.opened()) await store.blobs.redundancy?.repairPending().catch((e: unknown) => this.incident(`repair of ${store.name}`, e));
      // Journal mode: a checkpoint finishes the deletions commits could not make (JNL-3).
      await this.checkpoint?.().catch((e: unknown) => this.incident('checkpoint', e));
      return report;
    } finally {
      if (this.clustered) await this.env.coordinator.unlock(key, owner).catch(() => false); // the lock's TTL frees it
    }
  }
}
