import type { VersionVector } from '#crdt';
import { chooseHolder, PeerResend } from './anti-entropy';
import type { ClockPort, Heartbeat, LogPort, OpStreamPort, StorePort } from './ports';
import { EVENT_VERSION, type ReplicatedEvent } from './replicated-event';

function beat(replica: string, applied: VersionVector): Heartbeat {
  return { v: 1, replica, mode: 'Work', applied, opLogLength: 0, outboxDepth: 0, streamSeq: 0, keys: 0, epoch: 0, round: 0, sentMs: 0 };
}

function event(origin: string, seq: number): ReplicatedEvent {
  return { v: EVENT_VERSION, origin, seq, time: 1, deps: {}, key: 'k', type: 'pn-counter', options: null, ops: [] };
}

/** An op log of other origins' events, a stream that records publishes, and a clock moved by hand. */
function world(rows: ReplicatedEvent[]) {
  const published: Array<{ ids: string[]; republish: string | undefined }> = [];
  let now = 1_000;
  const store = {
    ownEventsAfter: async (origin: string, afterSeq: number, limit: number) =>
      rows.filter((e) => e.origin === origin && e.seq > afterSeq).sort((a, b) => a.seq - b.seq).slice(0, limit),
  } as unknown as StorePort;
  const stream = {
    publish: async (events: readonly ReplicatedEvent[], republish?: string) => {
      published.push({ ids: events.map((e) => `${e.origin}#${e.seq}`), republish });
      return published.length;
    },
  } as unknown as OpStreamPort;
  const clock: ClockPort = { nowMs: () => now, setTimer: () => () => undefined, defer: (fn) => fn() };
  const log: LogPort = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const resend = new PeerResend(() => 'me', store, stream, clock, log, { eventsPerRequestMax: 10, batchEventsMax: 2, perOriginIntervalMs: 500 });
  const settle = () => new Promise((r) => setImmediate(r));
  return { published, resend, settle, advance: (ms: number) => (now += ms) };
}

describe('anti-entropy', () => {
  it('chooseHolder - the origin while it is live, else the live peer with most of its events (ties by id), else the origin', () => {
    expect(chooseHolder('r1', 3, [beat('r1', { r1: 2 }), beat('r2', { r1: 9 })])).toBe('r1');
    expect(chooseHolder('r1', 3, [beat('r3', { r1: 5 }), beat('r2', { r1: 5 }), beat('r4', { r1: 4 })])).toBe('r2');
    expect(chooseHolder('r1', 6, [beat('r3', { r1: 5 })])).toBe('r1');
    expect(chooseHolder('r1', 1, [])).toBe('r1');
  });

  it('PeerResend - republishes the consecutive run it holds from the asked seq, above its snapshot, with its own republish tag', async () => {
    const w = world([event('r1', 2), event('r1', 3), event('r1', 4), event('r1', 5), event('r1', 7), event('r2', 1)]);
    w.resend.serve('r1', 2, { r1: 2 });
    await w.settle();
    expect(w.published.map((p) => p.ids)).toEqual([['r1#3', 'r1#4'], ['r1#5']]);
    expect(new Set(w.published.map((p) => p.republish)).size).toBe(1);
    expect(w.published[0].republish).toMatch(/^me\./);
  });

  it('PeerResend - nothing when it lacks the first event asked for (a receiver applies nothing past a gap)', async () => {
    const w = world([event('r1', 4), event('r1', 5)]);
    w.resend.serve('r1', 2, {});
    await w.settle();
    expect(w.published).toEqual([]);
  });

  it('PeerResend - one republish per origin per interval, with a fresh tag the next time', async () => {
    const w = world([event('r1', 1)]);
    w.resend.serve('r1', 1, {});
    await w.settle();
    w.resend.serve('r1', 1, {});
    await w.settle();
    expect(w.published).toHaveLength(1);
    w.advance(500);
    w.resend.serve('r1', 1, {});
    await w.settle();
    expect(w.published).toHaveLength(2);
    expect(w.published[1].republish).not.toBe(w.published[0].republish);
  });
});
