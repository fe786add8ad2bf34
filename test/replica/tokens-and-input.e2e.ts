import { connectClient } from '#testing';
import { TestCluster } from '../support/cluster';

/** Causal tokens across replicas, and every bad-input case with its stable code. */
describe('replica protocol', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start(['r1', 'r2']);
  }, 60_000);
  afterAll(async () => cluster?.stop());

  it('replica protocol - read-your-writes across replicas with "after"', async () => {
    for (let i = 0; i < 20; i++) {
      const w = await cluster.ok('update', { key: 'ryw', type: 'or-set', op: { type: 'add', value: i } }, 'r1');
      const r = await cluster.ok('get', { key: 'ryw', after: w.token }, 'r2');
      expect(r.value).toContain(i);
      // Monotonic reads: the read's token is at least the write's.
      const again = await cluster.ok('get', { key: 'ryw', after: r.token }, 'r1');
      expect((again.value as number[]).length).toBeGreaterThanOrEqual(i + 1);
    }
  }, 60_000);

  it('replica protocol - a token nobody can reach times out with NOT_CAUGHT_UP, a forged one is BAD_REQUEST', async () => {
    const future = 'v1.' + Buffer.from(JSON.stringify({ r1: 1_000_000 })).toString('base64url');
    const r = await cluster.request('get', { key: 'ryw', after: future, timeoutMs: 300 }, 'r2');
    expect(r.error?.code).toBe('NOT_CAUGHT_UP');
    expect((await cluster.request('get', { key: 'ryw', after: 'v1.!!!' }, 'r2')).error?.code).toBe('BAD_REQUEST');
    expect((await cluster.request('get', { key: 'ryw', after: 'garbage' }, 'r2')).error?.code).toBe('BAD_REQUEST');
  }, 30_000);

  it('replica protocol - ack levels: stream and all answer after replication; latest reads see the stream', async () => {
    const s = await cluster.ok('update', { key: 'acks', type: 'pn-counter', op: { type: 'increment', by: 3 }, ack: 'stream' }, 'r1');
    expect(s.token).toEqual(expect.any(String));
    await cluster.ok('update', { key: 'acks', op: { type: 'increment', by: 4 }, ack: 'all' }, 'r1');
    // ack all: r2 has applied it already, so even a local read there sees it.
    expect((await cluster.ok('get', { key: 'acks' }, 'r2')).value).toBe(7);
    await cluster.ok('update', { key: 'acks', op: { type: 'increment', by: 1 }, ack: 'stream' }, 'r2');
    expect((await cluster.ok('get', { key: 'acks', consistency: 'latest' }, 'r1')).value).toBe(8);
  }, 30_000);

  it('replica protocol - a batch applies atomically: one bad op and nothing changes', async () => {
    await cluster.ok('update', { key: 'batch', type: 'text', ops: [{ type: 'insert', index: 0, text: 'hello' }, { type: 'insert', index: 5, text: ' world' }] }, 'r1');
    const bad = await cluster.request('update', { key: 'batch', ops: [{ type: 'insert', index: 0, text: 'X' }, { type: 'delete', index: 999, count: 1 }] }, 'r1');
    expect(bad.error?.code).toBe('INVALID_OP');
    expect((await cluster.ok('get', { key: 'batch' }, 'r1')).value).toBe('hello world');
  }, 30_000);

  it('replica protocol - every bad input gets its error code and the replica stays up with state unchanged', async () => {
    await cluster.ok('create', { key: 'good', type: 'pn-counter' }, 'r1');
    await cluster.ok('update', { key: 'good', op: { type: 'increment', by: 5 } }, 'r1');
    const raw = async (subject: string, data: string | Uint8Array) => {
      const m = await cluster.nc.request(subject, data, { timeout: 5_000 });
      return m.json<{ ok: boolean; error?: { code: string } }>();
    };
    const cases: Array<[string, Promise<{ ok: boolean; error?: { code: string } }>]> = [
      ['BAD_REQUEST', raw('crdt.replica.r1.get', '{not json')],
      ['BAD_REQUEST', raw('crdt.replica.r1.get', '[1,2]')],
      ['BAD_REQUEST', cluster.request('get', {}, 'r1')],
      ['BAD_REQUEST', cluster.request('get', { key: 42 }, 'r1')],
      ['BAD_REQUEST', cluster.request('get', { key: 'has space' }, 'r1')],
      ['BAD_REQUEST', cluster.request('update', { key: 'good' }, 'r1')],
      ['BAD_REQUEST', cluster.request('update', { key: 'good', op: { type: 'increment' }, ack: 'maybe' }, 'r1')],
      ['BAD_REQUEST', cluster.request('create', { key: 'x' }, 'r1')],
      ['UNKNOWN_COMMAND', cluster.request('explode', { key: 'good' }, 'r1')],
      ['NOT_FOUND', cluster.request('get', { key: 'missing' }, 'r1')],
      ['NOT_FOUND', cluster.request('update', { key: 'missing', op: { type: 'increment' } }, 'r1')],
      ['TYPE_MISMATCH', cluster.request('create', { key: 'good', type: 'or-set' }, 'r1')],
      ['TYPE_MISMATCH', cluster.request('update', { key: 'good', type: 'or-set', op: { type: 'add', value: 1 } }, 'r1')],
      ['UNKNOWN_TYPE', cluster.request('create', { key: 'new', type: 'quantum-set' }, 'r1')],
      ['INVALID_OPTIONS', cluster.request('create', { key: 'lc', type: 'lifecycle', options: { states: [] } }, 'r1')],
      ['INVALID_OP', cluster.request('update', { key: 'good', op: { type: 'add', value: 1 } }, 'r1')],
      ['INVALID_OP', cluster.request('update', { key: 'good', op: { type: 'increment', by: 'many' } }, 'r1')],
      ['INVALID_OP', cluster.request('update', { key: 'good', op: 'increment' }, 'r1')],
      ['TOO_LARGE', cluster.request('get', { key: 'k'.repeat(300) }, 'r1')],
      ['TOO_LARGE', raw('crdt.replica.r1.update', JSON.stringify({ key: 'good', op: { type: 'increment', pad: 'x'.repeat(300 * 1024) } }))],
      ['TOO_LARGE', cluster.request('update', { key: 'good', ops: new Array(1001).fill({ type: 'increment' }) }, 'r1')],
      ['TOO_LARGE', raw('crdt.replica.r1.get', '{"key":' + '['.repeat(100) + ']'.repeat(100) + '}')],
    ];
    for (const [code, reply] of cases) {
      const r = await reply;
      expect({ code, ok: r.ok, got: r.error?.code }).toEqual({ code, ok: false, got: code });
    }
    // Still up, and nothing changed.
    expect((await cluster.ok('get', { key: 'good' }, 'r1')).value).toBe(5);
    expect((await cluster.request('get', { key: 'missing' }, 'r1')).error?.code).toBe('NOT_FOUND');
    expect((await cluster.request('get', { key: 'new' }, 'r1')).error?.code).toBe('NOT_FOUND');
  }, 60_000);

  it('replica protocol - a raw request from any NATS client works with plain JSON', async () => {
    const nc = await connectClient(cluster.nats.url);
    try {
      const m = await nc.request('crdt.api.get', '{"key":"good"}', { timeout: 5_000 });
      expect(JSON.parse(m.string())).toMatchObject({ ok: true, key: 'good', type: 'pn-counter', value: 5, token: expect.any(String) });
    } finally {
      await nc.close();
    }
  }, 30_000);
});
