/**
 * Opt-in lock tracing for the multi-process test's workers (SOP_TRACE_LOCKS=1): a Coordinator
 * that forwards every call to the real one and reports, as worker events, each lock this
 * process has held (or may hold: a lock whose reply never came) for over HELD_MS, and each key
 * another owner kept from it for over HELD_MS. A wait after a kill that outlasts the 5 s goal
 * then names the key and the owner that held it, instead of only its length.
 */
import type { Coordinator } from '../../src/ports/coordinator.js';

const HELD_MS = 3_000;

interface Entry {
  key: string;
  owner: string;
  since: number;
  how: 'ok' | 'no-reply';
  reported: boolean;
}

export function traceLocks(inner: Coordinator, out: (event: object) => void): { coordinator: Coordinator; stop: () => void } {
  const mine = new Map<string, Entry>();
  const blocked = new Map<string, Entry>();
  const timer = setInterval(() => {
    const now = Date.now();
    for (const h of mine.values()) {
      if (!h.reported && now - h.since > HELD_MS) {
        h.reported = true;
        out({ e: 'held', key: h.key, by: h.owner, how: h.how, ms: now - h.since });
      }
    }
  }, 500);
  timer.unref();
  const coordinator: Coordinator = Object.create(inner) as Coordinator;
  Object.assign(coordinator, {
    lock: async (key: string, owner: string, ttlMs: number) => {
      try {
        const other = await inner.lock(key, owner, ttlMs);
        if (other === null) {
          mine.set(`${key} ${owner}`, { key, owner, since: mine.get(`${key} ${owner}`)?.since ?? Date.now(), how: 'ok', reported: false });
          blocked.delete(key);
        } else {
          const seen = blocked.get(key);
          if (!seen || seen.owner !== other) blocked.set(key, { key, owner: other, since: Date.now(), how: 'ok', reported: false });
          else if (!seen.reported && Date.now() - seen.since > HELD_MS) {
            seen.reported = true;
            out({ e: 'blocked', key, by: other, ms: Date.now() - seen.since });
          }
        }
        return other;
      } catch (error) {
        mine.set(`${key} ${owner}`, { key, owner, since: Date.now(), how: 'no-reply', reported: false });
        throw error;
      }
    },
    unlock: async (key: string, owner: string) => {
      const done = await inner.unlock(key, owner);
      const h = mine.get(`${key} ${owner}`);
      if (h?.reported) out({ e: 'held', key, by: owner, how: `released (${done ? 'deleted' : 'not there'})`, ms: Date.now() - h.since });
      mine.delete(`${key} ${owner}`);
      return done;
    },
    runId: () => inner.runId(),
    cacheGet: (k: string) => inner.cacheGet(k),
    cacheSet: (k: string, v: Uint8Array, t: number) => inner.cacheSet(k, v, t),
    cacheDelete: (k: readonly string[]) => inner.cacheDelete(k),
    extend: (k: string, o: string, t: number) => inner.extend(k, o, t),
    owner: (k: string) => inner.owner(k),
    close: () => inner.close(),
  });
  return { coordinator, stop: () => clearInterval(timer) };
}
