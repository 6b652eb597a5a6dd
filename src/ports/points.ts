/**
 * Named crash points: every step of the two-phase commit and of the copy-on-write sector swap
 * (spec COW-2, LOG-1..LOG-3). Engine code announces them through `Env.point`; the simulator
 * and fault plans crash there. The list is closed so tools can check every point was hit.
 */
export const CRASH_POINTS = [
  'store.afterCreate',
  'commit.afterPrepareLog',
  'commit.afterBlobs',
  'commit.afterPlg',
  'cow.afterCowSync',
  'cow.afterSectorWrite',
  'cow.afterSectorSync',
  'commit.afterFlip',
  'commit.afterStoreInfo',
  'commit.afterDone',
  'commit.afterCleanup',
  'journal.afterRecord',
  'journal.afterApply',
  'journal.afterCut',
  'journal.afterCheckpointSync',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];
