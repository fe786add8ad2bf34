import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, type TempDir } from '#testing';
import { writeClusterFile, type ClusterFile } from '#runtime/cluster-file';
import { isUnresolved, resolveConnection } from './connection';

const FILE: ClusterFile = { v: 1, pid: process.pid, startedAt: 'x', prefix: 'p1', stream: 'S', nats: { url: 'nats://127.0.0.1:40001' }, apps: { r1: {} } };

describe('crdtctl connection', () => {
  let dir: TempDir;
  beforeEach(() => (dir = makeTempDir('ctl-conn')));
  afterEach(() => dir.remove());

  it('connection - NATS_URL wins over a cluster file', () => {
    writeClusterFile(join(dir.path, 'data'), FILE);
    expect(resolveConnection({ NATS_URL: 'nats://h:1' }, dir.path)).toEqual({ url: 'nats://h:1', prefix: 'crdt', source: 'NATS_URL' });
  });

  it('connection - without NATS_URL: ./data/cluster.json (or DATA_ROOT), its prefix unless CRDT_PREFIX says otherwise', () => {
    mkdirSync(join(dir.path, 'data'));
    writeClusterFile(join(dir.path, 'data'), { ...FILE, credentials: { admin: { user: 'a', password: 'b' } } });
    const r = resolveConnection({}, dir.path);
    expect(r).toMatchObject({ url: 'nats://127.0.0.1:40001', prefix: 'p1', source: 'cluster-file', file: join(dir.path, 'data', 'cluster.json'), credentials: { admin: { user: 'a' } } });
    expect(resolveConnection({ CRDT_PREFIX: 'q' }, dir.path)).toMatchObject({ prefix: 'q' });
    writeClusterFile(join(dir.path, 'other'), { ...FILE, nats: { url: 'nats://127.0.0.1:40002' } });
    expect(resolveConnection({ DATA_ROOT: 'other' }, dir.path)).toMatchObject({ url: 'nats://127.0.0.1:40002' });
  });

  it('connection - no NATS_URL and no cluster file: refused with a hint, never 127.0.0.1:4222', () => {
    const r = resolveConnection({}, dir.path);
    expect(isUnresolved(r) && r.code).toBe('NO_CLUSTER');
    expect(isUnresolved(r) && r.lines.join('\n')).toContain(join(dir.path, 'data', 'cluster.json'));
    expect(isUnresolved(r) && r.lines.join('\n')).toContain('npm start');
  });

  it('connection - a file left by a launcher that is gone, or a malformed file, is refused', () => {
    writeClusterFile(join(dir.path, 'data'), FILE);
    const stale = resolveConnection({}, dir.path, () => false);
    expect(isUnresolved(stale) && stale.code).toBe('STALE_CLUSTER_FILE');
    expect(isUnresolved(stale) && stale.lines[0]).toContain(`pid ${process.pid}`);
    writeFileSync(join(dir.path, 'data', 'cluster.json'), '{"v":2}');
    const bad = resolveConnection({}, dir.path);
    expect(isUnresolved(bad) && bad.code).toBe('BAD_CLUSTER_FILE');
  });
});
