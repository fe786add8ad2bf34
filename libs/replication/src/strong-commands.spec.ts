import { timestampFromWallMs, type Json } from '#crdt';
import type { ReplicatedEvent } from '#protocol/replicated-event';
import { memoryPorts } from '../testing/memory-ports';
import { startedCore } from '../testing/started-core';

/** A register event of `origin` (key `reg`). */
function event(origin: string, seq: number, values: Json[]): ReplicatedEvent {
  const ops = values.map((value) => ({ type: 'set', value, time: seq, replica: origin }));
  return { v: 1, origin, seq, time: seq, deps: {}, key: 'reg', type: 'lww-register', options: null, ops };
}

type R = { ok: boolean; revision?: number; seq?: number; value?: unknown; error?: { code: string } };

describe('strong commands', () => {
  it('strong - a strong write is published alone on its key\'s subject, applied once stored, and answers its revision', async () => {
    const { send, ports } = await startedCore();
    const r = (await send('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'a' }, consistency: 'strong' })) as R;
    expect(r).toMatchObject({ ok: true, seq: 1, revision: 1 });
    expect(ports.stream.strongKeys).toEqual(['reg']);
    expect(ports.store.events.map((e) => `${e.origin}#${e.seq}`)).toEqual(['r1#1']);
    expect(await send('get', { key: 'reg', consistency: 'linearizable' })).toMatchObject({ ok: true, value: 'a', revision: 1 });
    // The outbox counts it as published: no copy goes to the origin's own subject.
    await send('update', { key: 'c', type: 'pn-counter', op: { type: 'increment' } });
    expect(ports.stream.messages.map((m) => m.events.map((e) => e.seq))).toEqual([[1], [2]]);
  });

  it('strong - a strong write is stamped only once every own write taken before it is acknowledged by the stream (seed 91)', async () => {
    const ports = memoryPorts();
    const { core } = await startedCore({ replicaId: 'r1' }, ports);
    // The ordinary write's publish waits until the spec lets it through.
    let ack: (() => void) | undefined;
    const publish = ports.stream.publish.bind(ports.stream);
    ports.stream.publish = (events, republish) => new Promise<number>((resolve) => (ack = () => void publish(events, republish).then(resolve)));
    const strongAt: number[] = [];
    const publishStrong = ports.stream.publishStrong.bind(ports.stream);
    ports.stream.publishStrong = async (e, expected) => {
      strongAt.push(e.seq);
      return publishStrong(e, expected);
    };
    // The strong write arrives while the ordinary one is taken (seq 1) but not yet durable.
    const plain = core.handle('update', { key: 'c', type: 'pn-counter', op: { type: 'increment' } });
    const strong = core.handle('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'a' }, consistency: 'strong' });
    await ports.clock.advance(10);
    expect(await plain).toMatchObject({ ok: true, seq: 1 });
    expect(strongAt).toEqual([]);
    ack?.();
    await ports.clock.advance(10);
    expect(await strong).toMatchObject({ ok: true, seq: 2 });
    expect(strongAt).toEqual([2]);
    expect(core.outboxDepth).toBe(0);
  });

  it('strong - a compare-and-set with a stale revision is CONFLICT with the current one, and its seq stays free', async () => {
    const { send, ports } = await startedCore();
    await send('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'a' }, consistency: 'strong', expect: 0 });
    const r = (await send('update', { key: 'reg', op: { type: 'set', value: 'b' }, consistency: 'strong', expect: 0 })) as R;
    expect(r).toMatchObject({ ok: false, error: { code: 'CONFLICT' }, revision: 1 });
    const ok = (await send('update', { key: 'reg', op: { type: 'set', value: 'c' }, consistency: 'strong', expect: 1 })) as R;
    expect(ok).toMatchObject({ ok: true, seq: 2, revision: 2 });
    expect(ports.store.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(await send('get', { key: 'reg' })).toMatchObject({ value: 'c' });
  });

  it('strong - a compare-and-set the stream refuses leaves its seq to a no-op, published like any own event', async () => {
    const ports = memoryPorts();
    const { send } = await startedCore({ replicaId: 'r1' }, ports);
    // Another replica's strong write is in the stream; this one has not read it.
    await ports.stream.publishStrong(event('r2', 1, []), 0);
    expect(await send('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'x' }, consistency: 'strong', expect: 0 })).toMatchObject({ error: { code: 'CONFLICT' }, revision: 1 });
    expect(ports.store.events).toMatchObject([{ origin: 'r1', seq: 1, key: 'reg', ops: [] }]);
    expect(ports.store.strongPending).toBeUndefined();
    expect(await send('update', { key: 'c', type: 'pn-counter', op: { type: 'increment' } })).toMatchObject({ ok: true, seq: 2 });
    // The no-op went to the origin's subject; the refused content was never stored.
    const r1 = ports.stream.messages.flatMap((m, i) => m.events.filter((e) => e.origin === 'r1').map((e) => ({ seq: e.seq, ops: e.ops, strong: ports.stream.strongKeys[i] })));
    expect(r1).toMatchObject([{ seq: 1, ops: [], strong: undefined }, { seq: 2, ops: [{ type: 'increment' }], strong: undefined }]);
  });

  it('strong - a strong write is on disk as pending before it is published, and leaves the disk with the event that takes its seq', async () => {
    const ports = memoryPorts();
    const { core } = await startedCore({ replicaId: 'r1' }, ports);
    const seen: Array<string | undefined> = [];
    const publish = ports.stream.publishStrong.bind(ports.stream);
    ports.stream.publishStrong = async (e, expected) => {
      seen.push(ports.store.strongPending && `${ports.store.strongPending.event.origin}#${ports.store.strongPending.event.seq}@${ports.store.strongPending.expected}`);
      return publish(e, expected);
    };
    const reply = core.handle('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'a' }, consistency: 'strong', expect: 0 });
    await ports.clock.advance(10);
    expect(await reply).toMatchObject({ ok: true, seq: 1, revision: 1 });
    expect(seen).toEqual(['r1#1@0']);
    expect(ports.store.strongPending).toBeUndefined();
    expect(ports.store.events.map((e) => `${e.origin}#${e.seq}`)).toEqual(['r1#1']);
  });

  it('strong - after a crash, a pending write the stream stored is applied, not given another content', async () => {
    const ports = memoryPorts();
    const stored = event('r1', 1, ['kept']);
    // The stream stored it and the replica died before it wrote the outcome to disk.
    await ports.stream.publishStrong(stored, 0);
    // The id comes from the disk (a replica whose id was configured and whose disk is empty would first read its own events back).
    ports.store.replicaId = 'r1';
    ports.store.strongPending = { event: stored, expected: 0, stream: 'memory' };
    const { send } = await startedCore({}, ports);
    await ports.clock.advance(10);
    expect(ports.store.strongPending).toBeUndefined();
    expect(ports.store.events.map((e) => e.ops)).toMatchObject([[{ type: 'set', value: 'kept' }]]);
    expect(await send('get', { key: 'reg' })).toMatchObject({ ok: true, value: 'kept' });
    expect(await send('update', { key: 'c', type: 'pn-counter', op: { type: 'increment' } })).toMatchObject({ ok: true, seq: 2 });
    expect(ports.stream.messages.filter((m) => m.events.some((e) => e.origin === 'r1' && e.seq === 1))).toHaveLength(1);
  });

  it('strong - after a crash, a pending write the stream never stored and can no longer take becomes a no-op', async () => {
    const ports = memoryPorts();
    await ports.stream.publishStrong(event('r2', 1, ['theirs']), 0);
    ports.store.replicaId = 'r1';
    ports.store.strongPending = { event: event('r1', 1, ['lost']), expected: 0, stream: 'memory' };
    const { send } = await startedCore({}, ports);
    await ports.clock.advance(10);
    expect(ports.store.strongPending).toBeUndefined();
    expect(ports.store.events).toMatchObject([{ origin: 'r1', seq: 1, ops: [] }]);
    expect(ports.stream.messages.flatMap((m) => m.events).filter((e) => e.origin === 'r1')).toMatchObject([{ seq: 1, ops: [] }]);
    const next = await send('update', { key: 'c', type: 'pn-counter', op: { type: 'increment' } });
    expect(next).toMatchObject({ ok: true, seq: 2 });
  });

  it('strong - after a crash and a clock set back, a pending write is applied only once the clock has caught up with its time (seeds 51, 9955)', async () => {
    const ports = memoryPorts();
    const startMs = ports.clock.nowMs();
    // Stamped before the crash; the clock was set back three seconds since.
    const late: ReplicatedEvent = { ...event('r1', 1, ['late']), time: timestampFromWallMs(startMs + 3_000) };
    ports.store.replicaId = 'r1';
    ports.store.strongPending = { event: late, expected: 0, stream: 'memory' };
    const appliedAtMs: number[] = [];
    const { send } = await startedCore({ observer: { cleared: () => undefined, applying: (e) => void (e.origin === 'r1' && appliedAtMs.push(ports.clock.nowMs())) } }, ports);
    await ports.clock.advance(100);
    // The stream stored it, yet it waits here for the clock: the offset bound is 500 ms by default.
    expect(ports.stream.strongKeys).toEqual(['reg']);
    expect(appliedAtMs).toEqual([]);
    expect(ports.store.strongPending).toBeDefined();
    await ports.clock.advance(3_000);
    expect(appliedAtMs).toHaveLength(1);
    expect(appliedAtMs[0]).toBeGreaterThanOrEqual(startMs + 3_000 - 500);
    expect(ports.store.strongPending).toBeUndefined();
    expect(await send('get', { key: 'reg' })).toMatchObject({ ok: true, value: 'late' });
    // The clock moved past it: the next own write orders after it.
    expect(await send('update', { key: 'reg', op: { type: 'set', value: 'next' } })).toMatchObject({ ok: true, seq: 2 });
    expect(ports.store.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(ports.store.events[1].time).toBeGreaterThan(late.time);
  });

  it('strong - the observer is told a strong write was made when it is kept pending, before its publish, and of the no-op that takes a refused one\'s seq', async () => {
    const ports = memoryPorts();
    const made: ReplicatedEvent[] = [];
    const { send } = await startedCore({ replicaId: 'r1', observer: { cleared: () => undefined, applying: () => undefined, made: (e) => void made.push(e) } }, ports);
    const madeAtPublish: number[] = [];
    const publish = ports.stream.publishStrong.bind(ports.stream);
    ports.stream.publishStrong = async (e, expected) => {
      if (e.origin === 'r1') madeAtPublish.push(made.length);
      return publish(e, expected);
    };
    await ports.stream.publishStrong(event('r2', 1, []), 0);
    expect(await send('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'x' }, consistency: 'strong', expect: 0 })).toMatchObject({ error: { code: 'CONFLICT' } });
    expect(madeAtPublish).toEqual([1]);
    expect(made.map((e) => ({ seq: e.seq, ops: e.ops.length }))).toEqual([{ seq: 1, ops: 1 }, { seq: 1, ops: 0 }]);
    await send('update', { key: 'c', type: 'pn-counter', op: { type: 'increment' } });
    expect(made.map((e) => e.seq)).toEqual([1, 1, 2]);
  });

  it('strong - after a crash, a pending write whose expectation still holds is published and applied', async () => {
    const ports = memoryPorts();
    ports.store.replicaId = 'r1';
    ports.store.strongPending = { event: event('r1', 1, ['late']), expected: 0, stream: 'memory' };
    const { send } = await startedCore({}, ports);
    await ports.clock.advance(10);
    expect(ports.stream.strongKeys).toEqual(['reg']);
    expect(await send('get', { key: 'reg', consistency: 'linearizable' })).toMatchObject({ ok: true, value: 'late', revision: 1 });
  });

  it('strong - on a replicated op stream strong requests are STRONG_UNAVAILABLE unless the deployment trusts its server', async () => {
    const ports = memoryPorts();
    ports.stream.replicas = 3;
    const { send } = await startedCore({ replicaId: 'r1' }, ports);
    expect(await send('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'a' }, consistency: 'strong' })).toMatchObject({ ok: false, error: { code: 'STRONG_UNAVAILABLE' } });
    expect(await send('get', { key: 'reg', consistency: 'linearizable' })).toMatchObject({ ok: false, error: { code: 'STRONG_UNAVAILABLE' } });
    expect(ports.stream.messages).toHaveLength(0);
    const trusted = memoryPorts();
    trusted.stream.replicas = 3;
    const t = await startedCore({ replicaId: 'r1', limits: { strongOnReplicatedStream: 'trust-server' } }, trusted);
    expect(await t.send('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'a' }, consistency: 'strong' })).toMatchObject({ ok: true, revision: 1 });
  });

  it('strong - types that merge rather than overwrite are refused with STRONG_UNSUPPORTED', async () => {
    const { send } = await startedCore();
    expect(await send('update', { key: 'c', type: 'pn-counter', op: { type: 'increment' }, consistency: 'strong' })).toMatchObject({ error: { code: 'STRONG_UNSUPPORTED' } });
    await send('update', { key: 'c', type: 'pn-counter', op: { type: 'increment' } });
    expect(await send('get', { key: 'c', consistency: 'linearizable' })).toMatchObject({ error: { code: 'STRONG_UNSUPPORTED' } });
    expect(await send('update', { key: 'c', op: { type: 'increment' }, expect: 3 })).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('strong - a blind strong write behind the stream applies the newer write first, so its time orders after it', async () => {
    const shared = memoryPorts();
    const a = await startedCore({ replicaId: 'ra' }, shared);
    const bPorts = { ...memoryPorts(), stream: shared.stream };
    const b = await startedCore({ replicaId: 'rb' }, bPorts);
    expect(await a.send('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'first' }, consistency: 'strong' })).toMatchObject({ ok: true, revision: 1 });
    // rb has not read revision 1: its publish is refused, and it waits to apply revision 1 before stamping again.
    const pending = b.core.handle('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'second' }, consistency: 'strong' });
    await b.ports.clock.advance(10);
    void b.core.receive(shared.stream.messages[0], 1, 'reg');
    await b.ports.clock.advance(10);
    // Its refused first try left rb#1 to a no-op (message 2); the second try is rb#2 at revision 3.
    expect(await pending).toMatchObject({ ok: true, seq: 2, revision: 3 });
    const strong = shared.stream.messages.filter((_, i) => shared.stream.strongKeys[i] === 'reg').map((m) => m.events[0]);
    expect(strong.map((e) => `${e.origin}#${e.seq}`)).toEqual(['ra#1', 'rb#2']);
    const [first, second] = strong;
    expect(second.time).toBeGreaterThan(first.time);
    expect(second.deps).toEqual({ ra: 1 });
    // ra reads linearizably: it learns revision 3 from the stream and waits until it has applied it.
    const read = a.core.handle('get', { key: 'reg', consistency: 'linearizable' });
    await a.ports.clock.advance(10);
    void a.core.receive(shared.stream.messages[1], 2);
    void a.core.receive(shared.stream.messages[2], 3, 'reg');
    await a.ports.clock.advance(10);
    expect(await read).toMatchObject({ ok: true, value: 'second', revision: 3 });
  });

  it('strong - a strong delete is ordered among the key\'s strong writes: a compare-and-set that answers its revision, and the key is gone', async () => {
    const { send, ports } = await startedCore();
    await send('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'a' }, consistency: 'strong' });
    expect(await send('delete', { key: 'reg', consistency: 'strong', expect: 0 })).toMatchObject({ ok: false, error: { code: 'CONFLICT' }, revision: 1 });
    expect(await send('get', { key: 'reg' })).toMatchObject({ ok: true, value: 'a' });
    expect(await send('delete', { key: 'reg', consistency: 'strong', expect: 1 })).toMatchObject({ ok: true, deleted: true, seq: 2, revision: 2 });
    expect(ports.stream.strongKeys).toEqual(['reg', 'reg']);
    expect(ports.store.events.map((e) => ({ seq: e.seq, delete: e.delete === true }))).toEqual([{ seq: 1, delete: false }, { seq: 2, delete: true }]);
    expect(await send('get', { key: 'reg' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    // The next strong write expects the delete's revision.
    expect(await send('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'b' }, consistency: 'strong', expect: 2 })).toMatchObject({ ok: true, revision: 3 });
    expect(await send('get', { key: 'reg', consistency: 'linearizable' })).toMatchObject({ ok: true, value: 'b', revision: 3 });
  });

  it('strong - a strong delete the stream refuses leaves its seq to a no-op that deletes nothing', async () => {
    const ports = memoryPorts();
    const { send } = await startedCore({ replicaId: 'r1' }, ports);
    await send('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'mine' } });
    // Another replica's strong write is in the stream; this one has not read it.
    await ports.stream.publishStrong(event('r2', 1, []), 0);
    // The eventual write went to the stream first: the other strong write is at position 2.
    expect(await send('delete', { key: 'reg', consistency: 'strong', expect: 0 })).toMatchObject({ ok: false, error: { code: 'CONFLICT' }, revision: 2 });
    const noop = ports.store.events.find((e) => e.seq === 2);
    expect(noop).toMatchObject({ origin: 'r1', key: 'reg', ops: [] });
    expect(noop?.delete).toBeUndefined();
    expect(await send('get', { key: 'reg' })).toMatchObject({ ok: true, value: 'mine' });
  });

  it('strong - a strong delete of a key strong writes do not take, or of no key, is refused and applies nothing', async () => {
    const { send, ports } = await startedCore();
    await send('update', { key: 'c', type: 'pn-counter', op: { type: 'increment' } });
    expect(await send('delete', { key: 'c', consistency: 'strong' })).toMatchObject({ ok: false, error: { code: 'STRONG_UNSUPPORTED' } });
    expect(await send('delete', { key: 'nothing', consistency: 'strong' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await send('delete', { key: 'c', expect: 1 })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(ports.store.events.map((e) => e.seq)).toEqual([1]);
    expect(await send('get', { key: 'c' })).toMatchObject({ ok: true, value: 1 });
  });
});
