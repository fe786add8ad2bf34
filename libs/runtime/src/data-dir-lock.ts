import { closeSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One process per data directory (issue 8, item 4). Node has no flock(2), so the lock is a
 * file created exclusively:
 *
 * - **Take.** The holder's record (`{pid, startTicks, owner, since}`) is written and fsynced
 *   to a private temp file, which is then hard-linked to `<dir>/crdt.lock`. link(2) fails
 *   with EEXIST when the name exists, atomically, so exactly one process wins, and the lock
 *   file is never seen half-written.
 * - **Held or stale.** A loser reads the record. The lock is stale only when no process has
 *   that pid, or the process with that pid started at another time than the record says
 *   (`/proc/<pid>/stat` field 22), so a pid reused after a crash does not keep the lock.
 *   A live holder gives `DataDirLockedError` naming the file and the pid.
 * - **Stale takeover.** Removing a stale lock is serialized by a second exclusive file,
 *   `crdt.lock.steal`: only its holder may unlink the lock, and only after checking, under
 *   it, that the lock file is still the very inode it judged stale. Ordinary takers never
 *   unlink anything, so a fresh lock is never removed by a late stealer. The guard is held
 *   for microseconds; a guard left by a process that died holding it is itself judged by
 *   its pid and removed.
 * - **Release.** `release()` unlinks the lock if it is still ours (same inode); a process
 *   that dies without releasing leaves a stale lock the next start takes over.
 *
 * Limit: processes in different pid namespaces (containers) sharing one volume cannot see
 * each other's pids; give each container its own data volume.
 */

/** The lock file's name inside the locked directory. */
export const LOCK_FILE_NAME = 'crdt.lock';

/** What the lock file holds. */
export interface LockRecord {
  readonly pid: number;
  /** The holder's start time in clock ticks since boot (Linux), to tell a reused pid apart. */
  readonly startTicks: number | null;
  /** Who holds it, for people ("replica r1", "launcher"). */
  readonly owner: string;
  /** ISO time the lock was taken. */
  readonly since: string;
}

/** The directory is locked by a live process. Stable code `DATA_DIR_LOCKED`. */
export class DataDirLockedError extends Error {
  readonly code = 'DATA_DIR_LOCKED';
  constructor(
    readonly lockFile: string,
    readonly holder: LockRecord | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

/** True when `e` is a `DataDirLockedError`. */
export function isDataDirLockedError(e: unknown): e is DataDirLockedError {
  return e instanceof Error && e.name === 'DataDirLockedError' && (e as { code?: unknown }).code === 'DATA_DIR_LOCKED';
}

/** A held lock. */
export interface DataDirLock {
  readonly file: string;
  /** Removes the lock file if it is still this lock's (idempotent, never throws). */
  release(): void;
}

/** Attempts to take over a stale lock before giving up (each one means another process raced us). */
const ATTEMPTS_MAX = 5;

/** Start time of process `pid` in clock ticks since boot; null when unknown (not Linux), undefined when there is no such process. */
export function processStartTicks(pid: number): number | null | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses; fields after the last ')' start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie (exited, not yet reaped by its parent) holds nothing any more.
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    const ticks = Number(fields[19]);
    return Number.isSafeInteger(ticks) ? ticks : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return aliveByKill(pid) ? null : undefined;
    // No /proc entry: either no such process, or no /proc at all (not Linux).
    return lstatExists('/proc/self/stat') ? undefined : aliveByKill(pid) ? null : undefined;
  }
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function aliveByKill(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the process a record names is still running (same pid, same start time). */
export function holderAlive(rec: LockRecord): boolean {
  const ticks = processStartTicks(rec.pid);
  if (ticks === undefined) return false;
  if (ticks === null || rec.startTicks === null) return true;
  return ticks === rec.startTicks;
}

function parseRecord(text: string): LockRecord | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockRecord>;
    if (!Number.isSafeInteger(v.pid) || (v.pid as number) <= 0) return undefined;
    return {
      pid: v.pid as number,
      startTicks: Number.isSafeInteger(v.startTicks) ? (v.startTicks as number) : null,
      owner: typeof v.owner === 'string' ? v.owner : '?',
      since: typeof v.since === 'string' ? v.since : '?',
    };
  } catch {
    return undefined;
  }
}

/** The lock file's record and inode; undefined when there is no lock file. */
function readLock(file: string): { rec: LockRecord | undefined; ino: number } | undefined {
  try {
    const ino = lstatSync(file).ino;
    return { rec: parseRecord(readFileSync(file, 'utf8')), ino };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Creates `file` holding `rec`, atomically and complete, or returns false when it exists. */
function createExclusive(file: string, rec: LockRecord): boolean {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    writeSync(fd, JSON.stringify(rec) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

function unlinkIfInode(file: string, ino: number): void {
  try {
    if (lstatSync(file).ino === ino) unlinkSync(file);
  } catch {
    // gone already
  }
}

function describe(rec: LockRecord | undefined): string {
  return rec ? `pid ${rec.pid} (${rec.owner}, since ${rec.since})` : 'a process whose record cannot be read';
}

/**
 * Takes the exclusive lock on `dir` (created if missing) for this process, or throws
 * `DataDirLockedError` at once when a live process holds it. Writes nothing else in `dir`.
 */
export function lockDataDir(dir: string, owner: string): DataDirLock {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE_NAME);
  const mine: LockRecord = { pid: process.pid, startTicks: processStartTicks(process.pid) ?? null, owner, since: new Date().toISOString() };
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    if (createExclusive(file, mine)) {
      const ino = lstatSync(file).ino;
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          unlinkIfInode(file, ino);
        },
      };
    }
    const seen = readLock(file);
    if (!seen) continue; // released meanwhile: try again
    if (!seen.rec) {
      throw new DataDirLockedError(file, undefined, `${dir} is locked, but the lock file ${file} does not hold a crdt-nats lock record; remove it if no process uses ${dir}`);
    }
    if (holderAlive(seen.rec)) {
      throw new DataDirLockedError(file, seen.rec, `${dir} is in use by ${describe(seen.rec)}: lock file ${file}. Stop that process first (one process per data directory).`);
    }
    stealStale(file, seen.ino, mine);
  }
  const last = readLock(file);
  throw new DataDirLockedError(file, last?.rec, `${dir}: lock file ${file} kept changing hands (${describe(last?.rec)}); another process is starting on it`);
}

/** Removes the stale lock whose inode is `ino`, under the steal guard; returns quietly when another process got there first. */
function stealStale(file: string, ino: number, mine: LockRecord): void {
  const guard = `${file}.steal`;
  if (!createExclusive(guard, mine)) {
    const g = readLock(guard);
    // A guard left by a dead stealer: remove it (by inode) and let the caller retry.
    if (g && (!g.rec || !holderAlive(g.rec))) unlinkIfInode(guard, g.ino);
    return;
  }
  const guardIno = lstatSync(guard).ino;
  try {
    // Under the guard, nobody else unlinks the lock: if it is still the stale inode, it is ours to remove.
    unlinkIfInode(file, ino);
  } finally {
    unlinkIfInode(guard, guardIno);
  }
}
