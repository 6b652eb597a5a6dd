import { hostname } from 'node:os';
import type { Env } from '../ports/env.js';
import { MemoryCoordinator } from './memory-coordinator.js';
import { NodeFileSystem } from './node-file-system.js';
import { SeededRandom } from './seeded-random.js';
import { SystemClock } from './system-clock.js';

/** The production Env for standalone mode. */
export function realEnv(): Env {
  const clock = new SystemClock();
  const random = SeededRandom.fromEntropy();
  return { fs: new NodeFileSystem(), clock, random, coordinator: new MemoryCoordinator(clock, random), process: `pid ${process.pid} on ${hostname()}` };
}
