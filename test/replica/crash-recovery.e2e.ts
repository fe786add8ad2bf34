import { TestCluster, sleep } from '../support/cluster';
import { IncrementLoad } from './load';

/**
 * SIGKILL a replica in the middle of a write load and restart it on the same disk; with the
 * store in-process (the default) and on its own thread (SQLITE_THREAD=1), where an
 * acknowledged write must have been synced by the thread before the reply.
 */
describe.each([
  ['in-process store', '0'],
  ['store thread', '1'],
])('replica crash recovery (%s)', (_name, sqliteThread) => {
  const IDS = ['r1', 'r2', 'r3'];
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start(IDS, { SQLITE_THREAD: sqliteThread });
  }, 60_000);
  afterAll(async () => cluster?.stop());

  it('replica crash recovery - SIGKILL mid-load loses no acknowledged op and the replica catches up', async () => {
    await cluster.ok('create', { key: 'hits', type: 'pn-counter' }, 'r1');
    const loads = IDS.map((id) => new IncrementLoad(cluster, id, 'hits'));
    await sleep(1_500);
    const victim = cluster.replicas.get('r2')!;
    victim.kill('SIGKILL');
    const exit = await victim.exited;
    expect(exit.signal).toBe('SIGKILL');
    await sleep(1_000);
    await cluster.startReplica('r2');
    await sleep(1_500);
    await Promise.all(loads.map((l) => l.stop()));
    const acked = loads.reduce((a, l) => a + l.acked, 0);
    const attempted = loads.reduce((a, l) => a + l.attempted, 0);
    await cluster.converged(IDS);
    const values = await Promise.all(IDS.map((id) => cluster.ok('get', { key: 'hits' }, id)));
    for (const v of values) expect(v.value).toBe(values[0].value);
    // Every acknowledged increment is there; unacknowledged ones may or may not be.
    expect(values[0].value as number).toBeGreaterThanOrEqual(acked);
    expect(values[0].value as number).toBeLessThanOrEqual(attempted);
    expect(loads[1].acked).toBeGreaterThan(0);
  }, 120_000);
});
