import type { CommitSteps, Durability } from './durability.js';
import { InPlaceDurability } from './in-place.js';
import { JournaledDurability } from './journaled.js';

/** The durability of the commit's database: the journal when it has one, else in place. */
export function durabilityFor(steps: CommitSteps): Durability {
  const journal = steps.ctx.journal;
  return journal ? new JournaledDurability(steps, journal) : new InPlaceDurability(steps);
}
