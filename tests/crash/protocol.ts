/**
 * What the crash child (./child.ts) and its parent (./crash.test.ts) agree on: the stores, the
 * operations and the lines the child prints. Each line is written with one synchronous
 * write(2) to the stdout pipe, so a line printed before SIGKILL always reaches the parent.
 *
 *   OPENING                 before Database.open (recovery runs inside it)
 *   OPEN <recovery json>    after it
 *   P <point name>          every named point reached (the last one tells where a kill landed)
 *   TRY <op json>           before a transaction starts (its outcome is unknown until ACK)
 *   ACK <op json>           after its commit resolved
 *   READY                   init done, workers started
 *   KILL <point>:<n>        about to SIGKILL itself at a named point (SOP_CRASH_AT)
 *   ERR <message>           unexpected failure; the child exits with code 3
 */
export const ACCOUNTS = 'accounts';
export const LOG = 'log';
export const ACCOUNT_COUNT = 20;
export const INITIAL_BALANCE = 1000;
export const TOTAL = ACCOUNT_COUNT * INITIAL_BALANCE;

export interface Account {
  balance: number;
}

export interface LogValue {
  n: number;
  pad: string;
}

/** [from, to, amount] */
export type Transfer = [number, number, number];

export type Op =
  | { w: 'init'; op: number }
  | { w: 'bank'; op: number; xfer: Transfer }
  | {
      w: 'log';
      op: number;
      /** [n, padLength] inserted with value {n, pad: 'x' * padLength} */
      add: Array<[number, number]>;
      /** keys removed */
      del: number[];
      /** [n, padLength] updated to {n, pad: 'u' * padLength} */
      upd: Array<[number, number]>;
      /** a transfer committed in the same transaction (cross-store atomicity) */
      xfer?: Transfer;
    };

export const addedValue = (n: number, len: number): LogValue => ({ n, pad: 'x'.repeat(len) });
export const updatedValue = (n: number, len: number): LogValue => ({ n, pad: 'u'.repeat(len) });

/** Every named crash point of the engine (commit, cow sector swap, store creation). */
export { CRASH_POINTS as POINTS } from '../../src/ports/points.js';

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const randInt = (rnd: () => number, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
