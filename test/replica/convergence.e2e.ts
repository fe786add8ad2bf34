import { TestCluster } from '../support/cluster';

/**
 * Three replica processes on a real nats-server: clients write every CRDT type through
 * all three at once, and every replica ends with the same value.
 */
const IDS = ['r1', 'r2', 'r3'];

/** Per type: create options and a generator of the i-th op written at replica `r`. */
const WORKLOADS: Record<string, { options?: unknown; op: (i: number, r: number) => unknown; expect?: (value: unknown) => void; mayRefuse?: boolean }> = {
  'ew-flag': { op: (i) => ({ type: i % 3 === 0 ? 'disable' : 'enable' }) },
  'dw-flag': { op: (i) => ({ type: i % 3 === 0 ? 'disable' : 'enable' }) },
  'g-counter': { op: () => ({ type: 'increment', by: 2 }), expect: (v) => expect(v).toBe(2 * 3 * 20) },
  'pn-counter': { op: (i) => ({ type: i % 2 ? 'increment' : 'decrement', by: i }), expect: (v) => expect(v).toBe(3 * (100 - 90)) },
  'lww-register': { op: (i, r) => ({ type: 'set', value: { by: r, i } }) },
  'mv-register': { op: (i, r) => ({ type: 'set', value: `r${r}-${i}` }) },
  'g-set': { op: (i, r) => ({ type: 'add', value: `r${r}-${i}` }), expect: (v) => expect((v as unknown[]).length).toBe(60) },
  '2p-set': { op: (i, r) => (i % 4 === 3 ? { type: 'remove', value: `r${r}-${i - 1}` } : { type: 'add', value: `r${r}-${i}` }) },
  'lww-set': { op: (i, r) => (i % 4 === 3 ? { type: 'remove', value: `e${i - 1}` } : { type: 'add', value: `e${i}-${r}` }) },
  'or-set': { op: (i, r) => (i % 4 === 3 ? { type: 'remove', value: `r${r}-${i - 1}` } : { type: 'add', value: `r${r}-${i}` }) },
  'or-map': { op: (i, r) => ({ type: 'update', field: `f${i % 3}`, fieldType: 'pn-counter', op: { type: 'increment', by: r + 1 } }), expect: (v) => expect(Object.values(v as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(20 * (1 + 2 + 3)) },
  text: { op: (i, r) => ({ type: 'insert', index: 0, text: `${r}` }), expect: (v) => expect((v as string).length).toBe(60) },
  list: { op: (i, r) => ({ type: 'insert', index: 0, value: { r, i } }), expect: (v) => expect((v as unknown[]).length).toBe(60) },
  // A lifecycle only moves forward: once a peer's "closed" arrives, a later "modified" is refused.
  lifecycle: { mayRefuse: true, options: { states: ['open', 'modified', 'closed'] }, op: (i) => ({ type: 'transition', to: ['open', 'modified', 'closed'][Math.min(2, Math.floor(i / 8))] }), expect: (v) => expect(v).toBe('closed') },
};

describe('replica cluster - convergence', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start(IDS);
  }, 60_000);
  afterAll(async () => cluster?.stop());

  it('replica cluster - every CRDT type converges with clients writing to all three replicas', async () => {
    const types = Object.keys(WORKLOADS);
    for (const type of types) await cluster.ok('create', { key: `k-${type}`, type, options: WORKLOADS[type].options }, 'r1');
    await cluster.converged(IDS);
    // 20 writes per replica per type, the three replicas written concurrently.
    await Promise.all(
      IDS.map(async (id, r) => {
        for (let i = 0; i < 20; i++) {
          await Promise.all(
            types.map(async (type) => {
              const reply = await cluster.request('update', { key: `k-${type}`, op: WORKLOADS[type].op(i, r) }, id);
              if (!reply.ok && !(WORKLOADS[type].mayRefuse && reply.error?.code === 'INVALID_OP')) throw new Error(`${type}: ${JSON.stringify(reply.error)}`);
            }),
          );
        }
      }),
    );
    await cluster.converged(IDS);
    for (const type of types) {
      const values = await Promise.all(IDS.map((id) => cluster.ok('get', { key: `k-${type}` }, id)));
      for (const v of values) expect({ type, value: v.value }).toEqual({ type, value: values[0].value });
      WORKLOADS[type].expect?.(values[0].value);
    }
  }, 120_000);

  it('replica cluster - concurrent creates of one key with different types resolve the same everywhere', async () => {
    await Promise.all([
      cluster.ok('create', { key: 'contested', type: 'pn-counter' }, 'r1'),
      cluster.ok('create', { key: 'contested', type: 'or-set' }, 'r2'),
      cluster.ok('create', { key: 'contested', type: 'lww-register' }, 'r3'),
    ]);
    await cluster.converged(IDS);
    const got = await Promise.all(IDS.map((id) => cluster.ok('get', { key: 'contested' }, id)));
    expect(new Set(got.map((g) => g.type)).size).toBe(1);
    expect(new Set(got.map((g) => JSON.stringify(g.value))).size).toBe(1);
  }, 60_000);

  it('replica cluster - change notices are published for every applied write', async () => {
    const sub = cluster.nc.subscribe('crdt.changes.watched', { max: 6 });
    const seen: unknown[] = [];
    const done = (async () => {
      for await (const m of sub) seen.push(m.json());
    })();
    await cluster.ok('update', { key: 'watched', type: 'g-counter', op: { type: 'increment' } }, 'r2');
    await Promise.race([done, new Promise((r) => setTimeout(r, 5_000))]);
    // One notice per replica that applied the write (origin plus two peers), at least.
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen[0]).toMatchObject({ key: 'watched', type: 'g-counter', origin: 'r2', seq: expect.any(Number) });
  }, 30_000);
});
