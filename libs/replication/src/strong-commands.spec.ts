import { memoryPorts } from '../testing/memory-ports';
import { startedCore } from '../testing/started-core';

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

  it('strong - a refused compare-and-set found at the stream leaves the next own seq to the next write', async () => {
    const ports = memoryPorts();
    const { send } = await startedCore({ replicaId: 'r1' }, ports);
    // Another replica's strong write is in the stream; this one has not read it.
    await ports.stream.publishStrong({ v: 1, origin: 'r2', seq: 1, time: 1, deps: {}, key: 'reg', type: 'lww-register', options: null, ops: [] } as never, 0);
    expect(await send('update', { key: 'reg', type: 'lww-register', op: { type: 'set', value: 'x' }, consistency: 'strong', expect: 0 })).toMatchObject({ error: { code: 'CONFLICT' }, revision: 1 });
    expect(await send('update', { key: 'c', type: 'pn-counter', op: { type: 'increment' } })).toMatchObject({ ok: true, seq: 1 });
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
    expect(await pending).toMatchObject({ ok: true, revision: 2 });
    const [first, second] = shared.stream.messages.map((m) => m.events[0]);
    expect(second.time).toBeGreaterThan(first.time);
    expect(second.deps).toEqual({ ra: 1 });
    // ra reads linearizably: it learns revision 2 from the stream and waits until it has applied it.
    const read = a.core.handle('get', { key: 'reg', consistency: 'linearizable' });
    await a.ports.clock.advance(10);
    void a.core.receive(shared.stream.messages[1], 2, 'reg');
    await a.ports.clock.advance(10);
    expect(await read).toMatchObject({ ok: true, value: 'second', revision: 2 });
  });
});
