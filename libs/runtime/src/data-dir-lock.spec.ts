import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, type TempDir } from '#testing';
import { holderAlive, isDataDirLockedError, lockDataDir, LOCK_FILE_NAME, processStartTicks, type LockRecord } from './data-dir-lock';

/** A pid that ran and is gone: a child that exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

describe('data dir lock', () => {
  let dir: TempDir;
  beforeEach(() => (dir = makeTempDir('lock')));
  afterEach(() => dir.remove());

  it('lock - the first taker holds it; a second is refused naming the file and the holder pid; release frees it', () => {
    const a = lockDataDir(dir.path, 'first');
    const file = join(dir.path, LOCK_FILE_NAME);
    expect(a.file).toBe(file);
    const rec = JSON.parse(readFileSync(file, 'utf8')) as LockRecord;
    expect(rec).toMatchObject({ pid: process.pid, owner: 'first' });
    let err: unknown;
    try {
      lockDataDir(dir.path, 'second');
    } catch (e) {
      err = e;
    }
    expect(isDataDirLockedError(err)).toBe(true);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    // Nothing but the lock is left behind by the refused taker (no temp file).
    expect(readdirSync(dir.path)).toEqual([LOCK_FILE_NAME]);
    a.release();
    expect(existsSync(file)).toBe(false);
    const b = lockDataDir(dir.path, 'third');
    b.release();
  });

  it('lock - a lock whose holder is gone is taken over', () => {
    const file = join(dir.path, LOCK_FILE_NAME);
    writeFileSync(file, JSON.stringify({ pid: deadPid(), startTicks: 1, owner: 'crashed', since: 'x' }));
    const l = lockDataDir(dir.path, 'next');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, owner: 'next' });
    l.release();
  });

  it('lock - a pid reused by another process (other start time) does not keep the lock', () => {
    const ticks = processStartTicks(process.pid);
    expect(typeof ticks).toBe('number'); // Linux /proc
    const reused: LockRecord = { pid: process.pid, startTicks: (ticks as number) + 12345, owner: 'old', since: 'x' };
    expect(holderAlive(reused)).toBe(false);
    expect(holderAlive({ ...reused, startTicks: ticks as number })).toBe(true);
    writeFileSync(join(dir.path, LOCK_FILE_NAME), JSON.stringify(reused));
    lockDataDir(dir.path, 'new').release();
  });

  it('lock - release removes only its own lock file', () => {
    const a = lockDataDir(dir.path, 'a');
    const file = join(dir.path, LOCK_FILE_NAME);
    // Someone replaced the file (by hand): a's release must not remove theirs.
    writeFileSync(`${file}.x`, 'other');
    renameSync(`${file}.x`, file);
    a.release();
    expect(readFileSync(file, 'utf8')).toBe('other');
  });

  it('lock - a file that is not a lock record is refused, not removed', () => {
    const file = join(dir.path, LOCK_FILE_NAME);
    writeFileSync(file, 'garbage');
    expect(() => lockDataDir(dir.path, 'x')).toThrow(/does not hold a crdt-nats lock record/);
    expect(readFileSync(file, 'utf8')).toBe('garbage');
  });

  it('lock - a holder that has exited but is not reaped yet (a zombie) holds nothing', async () => {
    // sh starts `sleep 0.1` in the background, prints its pid and becomes `sleep`, which never
    // reaps it: a real zombie for three seconds.
    const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 3'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = Number(await new Promise<string>((r) => parent.stdout!.once('data', (d: Buffer) => r(d.toString().trim()))));
    await new Promise((r) => setTimeout(r, 600));
    try {
      expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toMatch(/\) Z /);
      expect(() => process.kill(pid, 0)).not.toThrow(); // kill(0) alone would call it alive
      expect(holderAlive({ pid, startTicks: null, owner: 'z', since: 'x' })).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
