import { jetstreamManager } from '@nats-io/jetstream';
import { TestCluster, sleep } from '../support/cluster';
import { IncrementLoad } from './load';

/** The broker dies, comes back (possibly shorter), or loses the whole stream: the cluster heals. */
describe('replica broker faults', () => {
  const IDS = ['r1', 'r2', 'r3'];
  let cluster: TestCluster;
  beforeEach(async () => {
    cluster = await TestCluster.start(IDS);
  }, 60_000);
  afterEach(async () => cluster?.stop());

  async function expectConvergedAtLeast(key: string, acked: number, attempted: number): Promise<void> {
    await cluster.converged(IDS, 60_000);
    const values = await Promise.all(IDS.map((id) => cluster.ok('get', { key }, id)));
    for (const v of values) expect(v.value).toBe(values[0].value);
    expect(values[0].value as number).toBeGreaterThanOrEqual(acked);
    expect(values[0].value as number).toBeLessThanOrEqual(attempted);
  }

  it('replica broker faults - nats-server SIGKILLed and restarted during writes: heals, nothing acknowledged lost', async () => {
    await cluster.ok('create', { key: 'n', type: 'pn-counter' }, 'r1');
    const loads = IDS.map((id) => new IncrementLoad(cluster, id, 'n'));
    await sleep(1_000);
    await cluster.nats.kill();
    await sleep(1_500);
    await cluster.nats.restart();
    await sleep(2_000);
    await Promise.all(loads.map((l) => l.stop()));
    await expectConvergedAtLeast('n', loads.reduce((a, l) => a + l.acked, 0), loads.reduce((a, l) => a + l.attempted, 0));
  }, 120_000);

  it('replica broker faults - the op stream deleted during writes: recreated, republished, converged', async () => {
    await cluster.ok('create', { key: 'd', type: 'pn-counter' }, 'r1');
    const loads = IDS.map((id) => new IncrementLoad(cluster, id, 'd'));
    await sleep(1_000);
    const jsm = await jetstreamManager(cluster.nc);
    await jsm.streams.delete('CRDT_OPS');
    await sleep(2_000);
    await Promise.all(loads.map((l) => l.stop()));
    await expectConvergedAtLeast('d', loads.reduce((a, l) => a + l.acked, 0), loads.reduce((a, l) => a + l.attempted, 0));
    const info = await jsm.streams.info('CRDT_OPS');
    expect(info.state.messages).toBeGreaterThan(0);
  }, 120_000);
});

/** JetStream refuses publishes (the stream is full): local service goes on, outboxes drain once it accepts again. */
describe('replica with JetStream refusing writes', () => {
  const IDS = ['r1', 'r2'];
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start(IDS, { CRDT_STREAM_BYTES_MAX: '2048', PUBLISH_TIMEOUT_MS: '500' });
  }, 60_000);
  afterAll(async () => cluster?.stop());

  it('replica with JetStream refusing writes - ack local and reads are served, ack stream times out, then it heals', async () => {
    // Fill the tiny stream.
    for (let i = 0; i < 30; i++) await cluster.request('update', { key: 'full', type: 'or-set', op: { type: 'add', value: `padding-${i}-${'x'.repeat(40)}` } }, 'r1');
    const local = await cluster.request('update', { key: 'full', op: { type: 'add', value: 'kept' } }, 'r1');
    expect(local.ok).toBe(true);
    const read = await cluster.ok('get', { key: 'full' }, 'r1');
    expect(read.value).toContain('kept');
    const stream = await cluster.request('update', { key: 'full', op: { type: 'add', value: 'waits' }, ack: 'stream', timeoutMs: 1_000 }, 'r1');
    expect(stream.error?.code).toBe('TIMEOUT');
    const status = await cluster.ok('status', {}, 'r1');
    expect(status.outboxDepth as number).toBeGreaterThan(0);
    // The operator raises the limit: the outbox drains and r2 gets everything.
    const jsm = await jetstreamManager(cluster.nc);
    const info = await jsm.streams.info('CRDT_OPS');
    await jsm.streams.update('CRDT_OPS', { ...info.config, max_bytes: 64 * 1024 * 1024 });
    await cluster.converged(IDS, 30_000);
    const r2 = await cluster.ok('get', { key: 'full' }, 'r2');
    expect(r2.value).toEqual(expect.arrayContaining(['kept', 'waits']));
  }, 90_000);
});
