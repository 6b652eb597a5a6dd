import type { Clock } from '../ports/clock.js';

/**
 * Something that failed in the background without failing the caller (a sweep, a repair, a
 * checkpoint, a cleanup): the work is retried later, but a user must be able to see that it
 * failed. `db.incidents()` lists the recent ones; `db.onIncident` streams them.
 */
export interface Incident {
  /** Clock time (ms). */
  readonly at: number;
  /** What was being done, e.g. 'sweep', 'checkpoint', 'cleanup of <tid>'. */
  readonly where: string;
  /** The error's code (a SopError code or a POSIX one), or 'ERROR'. */
  readonly code: string;
  readonly message: string;
}

/** Reports a background failure: never throws. */
export type IncidentSink = (where: string, error: unknown) => void;

const KEPT = 100;

export class Incidents {
  private readonly recentList: Incident[] = [];
  private readonly listeners = new Set<(incident: Incident) => void>();

  constructor(private readonly clock: Clock) {}

  readonly record: IncidentSink = (where, error) => {
    const e = error as { code?: unknown; message?: unknown } | null;
    const incident: Incident = {
      at: this.clock.now(),
      where,
      code: typeof e?.code === 'string' ? e.code : 'ERROR',
      message: typeof e?.message === 'string' ? e.message : String(error),
    };
    this.recentList.push(incident);
    if (this.recentList.length > KEPT) this.recentList.shift();
    for (const listener of this.listeners) {
      try {
        listener(incident);
      } catch {
        // a listener's own failure must not become the engine's: it is the listener's to report
      }
    }
  };

  recent(): readonly Incident[] {
    return [...this.recentList];
  }

  subscribe(listener: (incident: Incident) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
