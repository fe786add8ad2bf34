import { jetstream } from '@nats-io/jetstream';
import { text } from '#crdt';
import { encodeEventBatch, EVENT_VERSION, type ReplicatedEvent } from '#replication';
import { TestCluster } from '../support/cluster';

/**
 * Events published out of causal order on purpose (a dependent event first, its
 * dependency later, from another origin) are held in the causal buffer and applied in
 * order: the result proves it, since the later insert refers to an element the earlier
 * one creates and would be refused if applied first.
 */
describe('replica causal delivery', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start(['r1', 'r2']);
  }, 60_000);
  afterAll(async () => cluster?.stop());

  it('replica causal delivery - events published out of causal order are buffered and applied in order', async () => {
    const T = 1_000_000_000;
    const state = text.create(null);
    const op1 = text.prepare(state, { type: 'insert', index: 0, text: 'a' }, { replica: 'x', time: T });
    if (!op1.ok) throw new Error(op1.error.message);
    text.apply(state, op1.value);
    const op2 = text.prepare(state, { type: 'insert', index: 1, text: 'b' }, { replica: 'x', time: T + 1 });
    if (!op2.ok) throw new Error(op2.error.message);
    text.apply(state, op2.value);
    const op3 = text.prepare(state, { type: 'insert', index: 2, text: 'c' }, { replica: 'y', time: T + 2 });
    if (!op3.ok) throw new Error(op3.error.message);
    const ev = (origin: string, seq: number, time: number, deps: Record<string, number>, op: unknown): ReplicatedEvent => ({
      v: EVENT_VERSION, origin, seq, time, deps, key: 'ordered', type: 'text', options: null, ops: [op as never],
    });
    const x1 = ev('x', 1, T, {}, op1.value);
    const x2 = ev('x', 2, T + 1, {}, op2.value);
    const y1 = ev('y', 1, T + 2, { x: 2 }, op3.value);
    const js = jetstream(cluster.nc);
    // Worst order: the event depending on everything first, then the chain backwards.
    await js.publish('crdt.ops.y', encodeEventBatch([y1]), { msgID: 'y:1-1' });
    await js.publish('crdt.ops.x', encodeEventBatch([x2]), { msgID: 'x:2-2' });
    await js.publish('crdt.ops.x', encodeEventBatch([x1]), { msgID: 'x:1-1' });
    // And a duplicate for good measure (another msg id, so JetStream stores it again).
    await js.publish('crdt.ops.x', encodeEventBatch([x1, x2]), { msgID: 'x:1-2' });
    for (const id of ['r1', 'r2']) {
      const deadline = Date.now() + 10_000;
      let value: unknown;
      while (Date.now() < deadline) {
        const r = await cluster.request('get', { key: 'ordered' }, id);
        value = r.value;
        if (value === 'abc') break;
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(value).toBe('abc');
      const status = await cluster.ok('status', {}, id);
      expect(status.applied).toMatchObject({ x: 2, y: 1 });
      expect(status.waiting).toBe(0);
    }
  }, 60_000);
});
