import type { ReplicatedEvent } from '#protocol/replicated-event';
import { startedCore } from '../testing/started-core';

/** Real events of origin r2: three increments of c.n made by a core, as its stream holds them. */
let made: ReplicatedEvent[] = [];
beforeAll(async () => {
  const r2 = await startedCore({ replicaId: 'r2' });
  for (let i = 0; i < 3; i++) await r2.send('update', { key: 'c.n', type: 'pn-counter', op: { type: 'increment' } });
  made = r2.ports.stream.messages.flatMap((m) => m.events);
});
const inc = (origin: string, seq: number): ReplicatedEvent => {
  const e = made.find((x) => x.origin === origin && x.seq === seq);
  if (!e) throw new Error(`no event ${origin}#${seq}`);
  return e;
};

describe('stream ingest', () => {
  it('stream ingest - an event waits for its missing past, then both apply in causal order', async () => {
    const { core, ports, send } = await startedCore();
    const second = core.receive({ v: 1, events: [inc('r2', 2)] }, 1);
    await ports.clock.advance(10);
    await second;
    expect(core.applied()).toEqual({});
    // The position stays before the waiting event, so a restart reads it again.
    expect(core.durableStreamSeq()).toBe(0);
    const first = core.receive({ v: 1, events: [inc('r2', 1)] }, 2);
    await ports.clock.advance(10);
    await first;
    expect(core.applied()).toEqual({ r2: 2 });
    expect(core.durableStreamSeq()).toBe(2);
    expect(await send('get', { key: 'c.n' })).toMatchObject({ value: 2 });
    expect(ports.store.streamSeq).toBe(2);
  });

  it('stream ingest - a message at or before the position is ignored (no double apply)', async () => {
    const { core, ports, send } = await startedCore();
    const a = core.receive({ v: 1, events: [inc('r2', 1)] }, 1);
    await ports.clock.advance(10);
    await a;
    await core.receive({ v: 1, events: [inc('r2', 1)] }, 1);
    const b = core.receive({ v: 1, events: [inc('r2', 1)] }, 2);
    await ports.clock.advance(10);
    await b;
    expect(await send('get', { key: 'c.n' })).toMatchObject({ value: 1 });
  });

  it('stream ingest - events still missing after resendAfterMs are asked of their origin', async () => {
    const { core, ports } = await startedCore({ replicaId: 'r1', limits: { resendAfterMs: 100, heartbeatMs: 50 } });
    void core.receive({ v: 1, events: [inc('r2', 3)] }, 1);
    await ports.clock.advance(400);
    expect(ports.notices.resendRequests).toContainEqual({ origin: 'r2', fromSeq: 1 });
  });

  it('stream ingest - a resend request republishes own events from the asked seq, tagged as a republish', async () => {
    const { core, ports, send } = await startedCore();
    await send('update', { key: 'c.n', type: 'pn-counter', op: { type: 'increment' } });
    await send('update', { key: 'c.n', op: { type: 'increment' } });
    const before = ports.stream.messages.length;
    core.resend(2);
    await ports.clock.advance(10);
    const again = ports.stream.messages.slice(before);
    expect(again.flatMap((m) => m.events.map((e) => e.seq))).toEqual([2]);
    expect(ports.stream.republishTags.slice(before).every((t) => t !== undefined)).toBe(true);
  });

  it('stream ingest - a stream reset reads again from the given position', async () => {
    const { core, ports } = await startedCore();
    const a = core.receive({ v: 1, events: [inc('r2', 1)] }, 5);
    await ports.clock.advance(10);
    await a;
    core.streamReset(1);
    expect(core.consumedSeq()).toBe(0);
    expect(ports.stream.consumingFrom).toBe(1);
  });
});
