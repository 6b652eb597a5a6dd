import type { Op } from './checkers/list-append.js';

export type Outcome = 'ok' | 'fail' | 'info';

/** A bank or blob operation, recorded for the checkers that are not list-append. */
export interface BankOp {
  readonly kind: 'transfer' | 'audit';
  readonly outcome: Outcome;
  readonly sum?: number;
  readonly mode?: 'read' | 'nocheck';
}

/** Everything the workload saw, in completion order. */
export class History {
  readonly lists: Op[] = [];
  readonly bank: BankOp[] = [];
  /** Errors that are not SopErrors: always a bug (spec API-1). */
  readonly untyped: string[] = [];
  readonly wrongReads: string[] = [];
  /** Scratch stores by name: how their creation ended, and whether a removal was acknowledged. */
  readonly stores = new Map<string, { created: Outcome; removed: Outcome | null; items: number }>();
  counts = { ok: 0, fail: 0, info: 0 };
  private index = 0;

  nextIndex(): number {
    return this.index++;
  }

  count(outcome: Outcome): void {
    this.counts[outcome]++;
  }
}
