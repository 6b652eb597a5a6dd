/**
 * The layer workloads in the simulator (sim/layers/stream.ts, sim/layers/models.ts) have teeth:
 * the real layers pass a range of seeds, and each deliberately broken layer is caught within a
 * budget of seeds (spec STREAM-1, STREAM-3, STREAM-4, MODEL-2, MODEL-3).
 */
import assert from 'node:assert/strict';
import { ModelRegistry } from '../../../src/layers/models/index.js';
import { ChunkIO } from '../../../src/layers/stream/chunk-io.js';
import { StreamStore } from '../../../src/layers/stream/index.js';
import { FAULT_KINDS } from '../../../sim/options.js';
import { runSeed } from '../../../sim/run.js';

const BUDGET = 40;

/** Replaces a method for the duration of a test; returns the undo. */
function patch<T extends object, K extends keyof T>(proto: T, key: K, replacement: (original: T[K]) => T[K]): () => void {
  const original = proto[key];
  proto[key] = replacement(original);
  return () => void (proto[key] = original);
}

const BREAKS: Record<string, { workload: string; apply: () => () => void }> = {
  'a partial update writes a wrong byte (STREAM-3)': {
    workload: 'stream',
    apply: () =>
      patch(StreamStore.prototype, 'write', (original) =>
        async function (this: StreamStore, name: string, offset: number, bytes: Uint8Array) {
          const changed = Uint8Array.from(bytes);
          changed[0] = changed[0]! ^ 1;
          return original.call(this, name, offset, changed);
        }),
  },
  'a finished write stream leaves the old chunks behind (STREAM-4)': {
    workload: 'stream',
    apply: () =>
      patch(ChunkIO.prototype, 'dropValue', () =>
        async function (this: ChunkIO, _name: string, meta: { gen: number | null; size: number }) {
          meta.gen = null;
          meta.size = 0;
        }),
  },
  'latest() counts pre-releases (MODEL-2)': {
    workload: 'models',
    apply: () =>
      patch(ModelRegistry.prototype, 'latest', () =>
        async function (this: ModelRegistry, name: string) {
          let last: string | undefined;
          for await (const v of this.versions(name)) last = v;
          return last;
        }),
  },
};

describe('layers: simulator workloads and their checkers', function () {
  this.timeout(900_000);

  it('the real layers pass seeds 1..10', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = await runSeed({ seed, steps: 100, clients: 4, faults: [...FAULT_KINDS] });
      assert.deepEqual(r.violations, [], `seed ${seed}`);
    }
  });

  for (const [name, b] of Object.entries(BREAKS)) {
    it(`caught: ${name}`, async () => {
      const undo = b.apply();
      try {
        for (let seed = 1; seed <= BUDGET; seed++) {
          const r = await runSeed({ seed, steps: 100, clients: 4, faults: [...FAULT_KINDS] });
          const found = r.violations.filter((v) => v.startsWith(`${b.workload} [`));
          if (found.length > 0) {
            process.stdout.write(`      caught at seed ${seed}: ${found[0]!.slice(0, 160)}\n`);
            return;
          }
        }
        assert.fail(`survived ${BUDGET} seeds`);
      } finally {
        undo();
      }
    });
  }
});
