/**
 * The Reed-Solomon addon (src/ec/native.ts) runs each encode in libuv's thread pool, so when
 * several are in flight their callbacks arrive in whatever order the threads finish, and one
 * may arrive after the event loop already popped its next event: a simulated run would not be
 * reproducible. While a run uses erasure coding, `deterministicReedSolomon()` routes every
 * encode call through a FIFO queue (one call in the pool at a time, so callbacks come back in
 * the order the calls were made) and the event loop waits for the queue to empty before it
 * pops the next event (`nativeSettled`). Virtual time does not pass while encoding.
 */
import { type ReedSolomonAddon, reedSolomon } from '../src/ec/native.js';

type EncodeArgs = Parameters<ReedSolomonAddon['encode']>;
type Encode = ReedSolomonAddon['encode'];

/** The addon's own encode, captured before anything wraps it. */
const direct: Encode = reedSolomon.encode;
const queue: EncodeArgs[] = [];
let running = false;
let installs = 0;
const idle: Array<() => void> = [];

const queued: Encode = (...args: EncodeArgs) => {
  queue.push(args);
  if (!running) next();
};

/** Installs the queue (counted: nested runs share it); returns the uninstall. */
export function deterministicReedSolomon(): () => void {
  if (installs++ === 0) (reedSolomon as { encode: Encode }).encode = queued;
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    if (--installs === 0) (reedSolomon as { encode: Encode }).encode = direct;
  };
}

/** True while an encode call is queued or in the thread pool. */
export function nativeBusy(): boolean {
  return running || queue.length > 0;
}

/** Resolves once no encode call is queued or running. */
export function nativeSettled(): Promise<void> {
  return nativeBusy() ? new Promise((resolve) => idle.push(resolve)) : Promise.resolve();
}

/** Starts the oldest queued call; its callback runs, then the next one starts. */
function next(): void {
  const args = queue.shift();
  if (!args) {
    running = false;
    for (const resolve of idle.splice(0)) resolve();
    return;
  }
  running = true;
  const callback = args[9];
  const done = (error?: Error | null): void => {
    try {
      callback(error);
    } finally {
      next();
    }
  };
  try {
    direct(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], done);
  } catch (error) {
    // A call the addon refuses reports through its callback, as a failed encode does.
    queueMicrotask(() => done(error instanceof Error ? error : new Error(String(error))));
  }
}
