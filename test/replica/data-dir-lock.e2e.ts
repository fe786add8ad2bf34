import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { startApp } from '#testing';
import { TestCluster } from '../support/cluster';

/** Every file under `dir` with its size, mtime and inode: equal snapshots mean nothing was written. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const st = statSync(join(dir, name));
    if (st.isFile()) out[name] = `${st.size}:${st.mtimeMs}:${st.ino}`;
  }
  return out;
}

/**
 * One process per data directory (issue 8, item 4), with real replica processes: a second
 * replica on a directory in use is refused at once, names the lock file and the holder's
 * pid, and writes nothing (no SQLite file touched, nothing published); once the holder is
 * killed, the next start takes the stale lock over.
 */
describe('replica data directory lock', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start(['r1']);
  }, 60_000);
  afterAll(async () => cluster?.stop());

  it('data dir lock - a second replica on the same DATA_DIR fails at once, writes nothing, and the holder keeps its event numbers', async () => {
    await cluster.ok('create', { key: 'n', type: 'pn-counter' }, 'r1');
    for (let i = 0; i < 3; i++) await cluster.ok('update', { key: 'n', type: 'pn-counter', op: { type: 'increment', by: 1 } }, 'r1');
    const holder = cluster.replicas.get('r1')!;
    const dataDir = cluster.dataDir('r1');
    const jsm = await jetstreamManager(cluster.nc);
    const seqBefore = (await jsm.streams.info('CRDT_OPS')).state.last_seq;
    const statusBefore = await cluster.ok('status', {}, 'r1');
    // The holder is paused (SIGSTOP) while the second one tries: whatever changes on disk
    // meanwhile was written by the second process. A paused process still holds the lock.
    await new Promise((r) => setTimeout(r, 500));
    holder.pause();
    const before = snapshot(dataDir);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['crdt.lock', 'replica.sqlite']));

    const second = startApp('replica', { NATS_URL: cluster.nats.url, REPLICA_ID: 'r1', DATA_DIR: dataDir, STREAM_CHECK_MS: '300' }, { logDir: cluster.harness.logDir, name: 'r1-second' });
    const refused = await second.waitForLog((l) => l.code === 'DATA_DIR_LOCKED', 15_000);
    const exit = await second.exited;
    expect(exit.code).toBe(1);
    expect(refused).toMatchObject({ level: 'error', lockFile: join(dataDir, 'crdt.lock'), holderPid: holder.pid });
    expect(String(refused.error)).toContain(`pid ${holder.pid}`);
    expect(String(refused.error)).toContain(join(dataDir, 'crdt.lock'));
    // It never reached NATS or the store.
    expect(second.logs().some((l) => l.includes('NATS') || l.includes('op stream'))).toBe(false);
    expect(snapshot(dataDir)).toEqual(before);
    expect((await jsm.streams.info('CRDT_OPS')).state.last_seq).toBe(seqBefore);
    holder.resume();

    // The holder goes on numbering its events where it was.
    await cluster.ok('update', { key: 'n', type: 'pn-counter', op: { type: 'increment', by: 1 } }, 'r1');
    const statusAfter = await cluster.ok('status', {}, 'r1');
    expect((statusAfter.applied as Record<string, number>).r1).toBe((statusBefore.applied as Record<string, number>).r1 + 1);
    expect((await cluster.ok('get', { key: 'n' }, 'r1')).value).toBe(4);
  }, 60_000);

  it('data dir lock - after the holder is killed (SIGKILL), the next start takes the stale lock over', async () => {
    const holder = cluster.replicas.get('r1')!;
    holder.kill('SIGKILL');
    await holder.exited;
    const dataDir = cluster.dataDir('r1');
    expect(JSON.parse(readFileSync(join(dataDir, 'crdt.lock'), 'utf8')).pid).toBe(holder.pid);
    const next = await cluster.startReplica('r1');
    expect(JSON.parse(readFileSync(join(dataDir, 'crdt.lock'), 'utf8')).pid).toBe(next.pid);
    expect((await cluster.ok('get', { key: 'n' }, 'r1')).value).toBe(4);
    // A clean stop removes the lock.
    expect(await next.stop()).toEqual({ code: 0, signal: null });
    expect(readdirSync(dataDir)).not.toContain('crdt.lock');
    expect(next.logs().some((l) => l.includes('"msg":"shutdown requested"') && l.includes('SIGTERM'))).toBe(true);
    expect(next.logs().some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  }, 60_000);
});
