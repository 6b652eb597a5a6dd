/**
 * Which I/O errors mean "this drive is failing" (spec REPL-4): they move the active side to the
 * passive drive (failover) or take the passive drive out of replication. Every other error
 * (ENOENT, EEXIST, EINVAL, ...) is about the request, not the drive: the caller sees it and the
 * transaction rolls back, with no failover. The list follows SOP (sop-engine.md E100).
 */
const QUALIFIED_CODES = new Set([
  'EIO', // I/O error
  'ENODEV', // no such device
  'ENXIO', // device not configured
  'EROFS', // read-only file system (a remount after errors)
  'ENOSPC', // no space left on the drive
  'EDQUOT', // quota exceeded
  'EREMOTEIO', // 121
  'EUCLEAN', // 117: structure needs cleaning (a damaged file system)
  'ENOMEDIUM', // 123
  'EMEDIUMTYPE', // 124
  'ESTALE', // stale network file handle: the export went away
]);

const QUALIFIED_ERRNOS = new Set([121, 117, 123, 124]);

export function isFailoverQualified(error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown; message?: unknown } | null;
  if (!e) return false;
  if (typeof e.code === 'string' && QUALIFIED_CODES.has(e.code)) return true;
  if (typeof e.errno === 'number' && QUALIFIED_ERRNOS.has(Math.abs(e.errno))) return true;
  const message = typeof e.message === 'string' ? e.message.toLowerCase() : '';
  return message.includes('read-only file system') || message.includes('readonly file system');
}

/** The documented list, for the README and `sop inspect`. */
export const FAILOVER_QUALIFIED_CODES: readonly string[] = [...QUALIFIED_CODES];
