/**
 * FileSystem port. Engine code performs all disk I/O through it, so the simulator can
 * decide what an unsynced write becomes after a crash (sim/) and fault plans can fail any
 * call (fault-injection/). Paths are absolute, '/'-separated.
 *
 * Errors: implementations reject with an Error whose `code` is a POSIX name
 * ('ENOENT', 'EIO', 'ENOSPC', 'EEXIST', 'ENOTDIR', 'EISDIR', ...).
 */
export interface FileHandle {
  /** Reads up to `length` bytes at `position`; returns the bytes actually read (short at EOF). */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Writes all of `data` at `position`. Not durable until `sync`/`datasync`. */
  write(position: number, data: Uint8Array): Promise<void>;
  /** fdatasync: file contents durable. */
  datasync(): Promise<void>;
  /**
   * Optional: write `data` at `position`, then fdatasync, blocking the calling thread (no
   * thread-pool round trips): the same outcome as `write` then `datasync`, errors included (a
   * failed sync may leave the bytes written but not durable). The real adapter and the
   * simulator's disk have it (the simulator applies it at once, unscheduled, while the process
   * lives); the fault decorator passes it through when its inner handle has it (one call for
   * its plan); the replicated decorator leaves it out (a failover cannot be recorded in a
   * blocking call), and callers then use write + datasync.
   */
  writeAndSyncBlocking?(position: number, data: Uint8Array): void;
  /** fsync: contents and metadata durable. */
  sync(): Promise<void>;
  truncate(size: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export type OpenMode =
  /** read only; the file must exist */
  | 'read'
  /** read and write; the file must exist */
  | 'readWrite'
  /** read and write; created empty when missing */
  | 'create'
  /** read and write; fails with EEXIST when the file exists */
  | 'createNew';

export interface FileStat {
  readonly size: number;
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly mtimeMs: number;
}

/** An advisory lock taken with `FileSystem.lock`. */
export interface FileLock {
  /** Gives the lock up (idempotent). The lock also goes when the process ends, however it ends. */
  release(): Promise<void>;
}

/** What `lock` found when another process holds the file in a conflicting mode. */
export interface LockRefused {
  /** What the holder wrote into the lock file (its owner text), or '' for shared holders. */
  readonly heldBy: string;
}

export interface FileSystem {
  /**
   * Takes an advisory lock on `path` (created when missing) without waiting: 'exclusive'
   * conflicts with any other holder, 'shared' only with an exclusive one. An exclusive holder
   * writes `owner` into the file so a refused caller can name it. The lock lives until released
   * or until its process ends, however it ends (a crash leaves no stale lock: the kernel's
   * flock, the simulator's process gate). Held per call: a second lock of one path in the same
   * process conflicts like another process's.
   */
  lock(path: string, mode: 'exclusive' | 'shared', owner: string): Promise<FileLock | LockRefused>;
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  /** Whole file; rejects ENOENT when missing. */
  readFile(path: string): Promise<Uint8Array>;
  /** Creates or replaces the file with `data` (not durable until synced). */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /**
   * Gives the file at `existing` a second name `to` (a hard link), atomically and exclusively:
   * EEXIST when `to` exists (never replaced), ENOENT when `existing` is missing. Claim files use
   * it to appear with their owner already written (a file written first, then linked), so a
   * process killed mid-claim never leaves a claim that names nobody (claim-files.ts).
   */
  link(existing: string, to: string): Promise<void>;
  /** Removes a file; ENOENT when missing. */
  unlink(path: string): Promise<void>;
  /** Creates a directory and its parents; no error when it exists. */
  mkdir(path: string): Promise<void>;
  /** Removes a directory tree; no error when missing. */
  removeTree(path: string): Promise<void>;
  /**
   * Entry names, sorted by UTF-16 code unit (`Array.prototype.sort` order; never the file
   * system's own order), without '.' and '..'; ENOENT when the directory is missing, ENOTDIR
   * when it is a file.
   */
  readdir(path: string): Promise<string[]>;
  /** null when missing. */
  stat(path: string): Promise<FileStat | null>;
  /** fsync of a directory: created, renamed and removed entries become durable. */
  syncDir(path: string): Promise<void>;
}
