import { batchMessageId, decodeEventBatch, encodeEventBatch, EVENT_VERSION, type ReplicatedEvent } from './replicated-event';

const event = (seq: number, over: Partial<ReplicatedEvent> = {}): ReplicatedEvent => ({
  v: EVENT_VERSION,
  origin: 'r1',
  seq,
  time: 1_000 + seq,
  deps: { r2: 3 },
  key: 'c.visits',
  type: 'pn-counter',
  options: null,
  ops: [{ type: 'increment', by: seq }],
  ...over,
});

const bytes = (v: unknown) => new Uint8Array(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));

describe('event batch codec', () => {
  it('event batch codec - a batch decodes to what was encoded', () => {
    const events = [event(1), event(2)];
    expect(decodeEventBatch(encodeEventBatch(events))).toEqual({ v: EVENT_VERSION, events });
  });

  it('event batch codec - decodes from a view into a larger buffer', () => {
    const enc = encodeEventBatch([event(1)]);
    const big = new Uint8Array(enc.length + 8);
    big.set(enc, 4);
    expect(decodeEventBatch(big.subarray(4, 4 + enc.length))?.events).toEqual([event(1)]);
  });

  it('event batch codec - refuses what is not a batch of this version', () => {
    expect(decodeEventBatch(bytes('not json'))).toBeUndefined();
    expect(decodeEventBatch(bytes({ v: 2, events: [event(1)] }))).toBeUndefined();
    expect(decodeEventBatch(bytes({ v: EVENT_VERSION }))).toBeUndefined();
    expect(decodeEventBatch(bytes({ v: EVENT_VERSION, events: [{ ...event(1), seq: 0 }] }))).toBeUndefined();
    expect(decodeEventBatch(bytes({ v: EVENT_VERSION, events: [{ ...event(1), type: 'no-such-type' }] }))).toBeUndefined();
    expect(decodeEventBatch(bytes({ v: EVENT_VERSION, events: [{ ...event(1), origin: '' }] }))).toBeUndefined();
  });

  it('event batch codec - a message id names the origin and seq range, and a republish tag when given', () => {
    expect(batchMessageId([event(4), event(5), event(6)])).toBe('r1:4-6');
    expect(batchMessageId([event(4)], 'rw2')).toBe('r1:4-4~rw2');
  });
});
